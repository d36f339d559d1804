//! The admin API, under `/admin/`, for operators: every node of the cluster with its clients
//! (by dialect and tenant) and rooms, every room with its home and members, and draining a
//! node. Off (404) unless `admin.token` (`SWITCHBOARD_ADMIN_TOKEN`) is set; every request
//! carries it as `Authorization: Bearer <token>` (401 otherwise). Any node answers for the
//! whole cluster, through its [`desk::AdminDesk`].

pub(crate) mod desk;
pub(crate) mod index;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tokio::sync::oneshot;

use self::desk::{CloseRoom, DisconnectClients, Drain, Gather, NodeReport, Order, RoomOrder};
use super::NodeState;

/// Registers the admin routes (under `/admin`).
pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/nodes", web::get().to(nodes))
        .route("/rooms", web::get().to(rooms))
        .route("/nodes/{node}/drain", web::post().to(drain))
        .route("/clients/disconnect", web::post().to(disconnect))
        .route("/rooms/close", web::post().to(close));
}

/// The bearer token of `req`'s `Authorization` header.
pub(super) fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// `None` when `req` may use the admin API; otherwise the response refusing it.
fn refused(req: &HttpRequest, node: &NodeState) -> Option<HttpResponse> {
    let token = node.config.admin.token.expose();
    if token.is_empty() {
        return Some(HttpResponse::NotFound().content_type("text/plain").body("not found\n"));
    }
    let given = bearer(req).unwrap_or_default().as_bytes();
    // Compared in time independent of where they differ.
    let same = given.len() == token.len()
        && given.iter().zip(token).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0;
    (!same).then(|| {
        HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer"))
            .content_type("text/plain")
            .body("the admin token is missing or wrong\n")
    })
}

/// Every node's report, from `node`'s desk.
async fn gather(node: &NodeState) -> Vec<NodeReport> {
    let (reply, reports) = oneshot::channel();
    node.admin.do_send(Gather { reply });
    reports.await.unwrap_or_default()
}

/// `GET /admin/nodes`: every node seen alive, with its clients by dialect and tenant and how
/// many rooms it homes.
async fn nodes(req: HttpRequest, node: web::Data<NodeState>) -> HttpResponse {
    if let Some(refusal) = refused(&req, &node) {
        return refusal;
    }
    let nodes: Vec<_> = gather(&node)
        .await
        .into_iter()
        .map(|report| {
            let total: usize = report.clients.iter().map(|c| c.clients).sum();
            serde_json::json!({
                "node": report.node,
                "member": report.member,
                "draining": report.draining,
                "clients": total,
                "clients_by": report.clients,
                "rooms": report.rooms.len(),
            })
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "nodes": nodes }))
}

/// Filters of `GET /admin/rooms`.
#[derive(Debug, Deserialize)]
struct RoomFilter {
    tenant: Option<String>,
    dialect: Option<String>,
}

/// `GET /admin/rooms[?tenant=T][&dialect=D]`: every room of the cluster (of tenant `T`, of
/// dialect `D`), with its home node and its members.
async fn rooms(
    req: HttpRequest,
    node: web::Data<NodeState>,
    filter: web::Query<RoomFilter>,
) -> HttpResponse {
    if let Some(refusal) = refused(&req, &node) {
        return refusal;
    }
    let mut rooms: Vec<_> = gather(&node)
        .await
        .into_iter()
        .flat_map(|report| {
            let home = report.node;
            report.rooms.into_iter().map(move |room| (home.clone(), room))
        })
        .filter(|(_, room)| filter.tenant.as_ref().is_none_or(|t| *t == room.tenant))
        .filter(|(_, room)| filter.dialect.as_ref().is_none_or(|d| *d == room.dialect))
        .map(|(home, room)| {
            serde_json::json!({
                "dialect": room.dialect,
                "tenant": room.tenant,
                "room": room.room,
                "home": home,
                "members": room.members,
                "members_at_home": room.here,
            })
        })
        .collect();
    rooms.sort_by(|a, b| {
        let key = |v: &serde_json::Value| {
            (v["tenant"].to_string(), v["dialect"].to_string(), v["room"].to_string())
        };
        key(a).cmp(&key(b))
    });
    HttpResponse::Ok().json(serde_json::json!({ "rooms": rooms }))
}

/// `POST /admin/nodes/{node}/drain`: node `node` (its id, or its member id) stops taking
/// clients, closes its clients with 1001 "going away" (they reconnect elsewhere) and leaves
/// the cluster; 202 once asked, 404 for a node not seen alive.
async fn drain(
    req: HttpRequest,
    node: web::Data<NodeState>,
    target: web::Path<String>,
) -> HttpResponse {
    if let Some(refusal) = refused(&req, &node) {
        return refusal;
    }
    let target = target.into_inner();
    match node.admin.send(Drain { node: target.clone() }).await {
        Ok(true) => HttpResponse::Accepted().json(serde_json::json!({ "draining": target })),
        _ => HttpResponse::NotFound()
            .content_type("text/plain")
            .body(format!("no node {target} is alive\n")),
    }
}

/// `POST /admin/clients/disconnect?sub=S[&tenant=T][&dialect=D]`: every node closes the
/// connections whose access token names them `S` in tenant `T` (default: the default tenant),
/// of dialect `D` (`cmd`, `signals`, `rooms`, `mediasoup`; default: all) with "disconnected by
/// the operator" (1008). 202 with how many this node closed; 400 for a tenant name or dialect
/// that cannot be.
async fn disconnect(
    req: HttpRequest,
    node: web::Data<NodeState>,
    order: web::Query<Order>,
) -> HttpResponse {
    if let Some(refusal) = refused(&req, &node) {
        return refusal;
    }
    let order = order.into_inner();
    match node.admin.send(DisconnectClients(order.clone())).await {
        Ok(Some(here)) => HttpResponse::Accepted().json(serde_json::json!({
            "tenant": order.tenant,
            "sub": order.sub,
            "dialect": order.dialect,
            "disconnected_here": here,
        })),
        _ => HttpResponse::BadRequest()
            .content_type("text/plain")
            .body("no such tenant or dialect\n"),
    }
}

/// `POST /admin/rooms/close?dialect=D&room=R[&tenant=T]`: the room's home closes it: every
/// member is out, told as its dialect tells a member whose room ended (`rooms`: `room-left(R,
/// true)`; `mediasoup`: the peer's room closed; `signals`: an empty publisher list), and the
/// room is over. 202; 400 for a tenant name or dialect that cannot be.
async fn close(
    req: HttpRequest,
    node: web::Data<NodeState>,
    order: web::Query<RoomOrder>,
) -> HttpResponse {
    if let Some(refusal) = refused(&req, &node) {
        return refusal;
    }
    let order = order.into_inner();
    match node.admin.send(CloseRoom(order.clone())).await {
        Ok(true) => HttpResponse::Accepted().json(serde_json::json!({
            "tenant": order.tenant,
            "dialect": order.dialect,
            "room": order.room,
        })),
        _ => HttpResponse::BadRequest()
            .content_type("text/plain")
            .body("no such tenant or room dialect\n"),
    }
}
