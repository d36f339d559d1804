//! The server's RTP capabilities (PROTOCOLS.md §4.5): the codecs it forwards, each with its
//! preferred payload type, and what follows from them. A transport receives and sends these
//! payload types only, so a producer must send them: mediasoup-client sends its browser's own
//! payload types, and the preferred ones here are Chromium's (Opus 111, VP8 96 with RTX 97).
//! A consumer's parameters carry the server's payload types and its own SSRCs.

use serde_json::{json, Value};

use super::{Encoding, Rtcp, RtpCodec, RtpParameters, RtxSsrc};
use crate::media::{Codec, CodecName, Kind, Stream};

/// One codec of the server's.
struct Served {
    kind: Kind,
    name: &'static str,
    codec: CodecName,
    clock_rate: u32,
    channels: Option<u8>,
    pt: u8,
    rtx: Option<u8>,
    parameters: fn() -> Value,
    feedback: fn() -> Value,
}

fn video_feedback() -> Value {
    json!([{"type": "nack"}, {"type": "nack", "parameter": "pli"}, {"type": "ccm", "parameter": "fir"}])
}

const SERVED: [Served; 3] = [
    Served {
        kind: Kind::Audio,
        name: "opus",
        codec: CodecName::Opus,
        clock_rate: 48_000,
        channels: Some(2),
        pt: 111,
        rtx: None,
        parameters: || json!({"useinbandfec": 1}),
        feedback: || json!([]),
    },
    Served {
        kind: Kind::Video,
        name: "VP8",
        codec: CodecName::Vp8,
        clock_rate: 90_000,
        channels: None,
        pt: 96,
        rtx: Some(97),
        parameters: || json!({}),
        feedback: video_feedback,
    },
    Served {
        kind: Kind::Video,
        name: "H264",
        codec: CodecName::H264,
        clock_rate: 90_000,
        channels: None,
        pt: 125,
        rtx: Some(107),
        parameters: || json!({"packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1}),
        feedback: video_feedback,
    },
];

fn kind_str(kind: Kind) -> &'static str {
    match kind {
        Kind::Audio => "audio",
        Kind::Video => "video",
    }
}

/// The answer to `queryRoom` (and the draft's `join`'s `rtpCapabilities`).
pub fn room_capabilities() -> Value {
    let mut codecs = Vec::new();
    for s in &SERVED {
        let kind = kind_str(s.kind);
        let mut codec = json!({
            "kind": kind,
            "name": s.name,
            "mimeType": format!("{kind}/{}", s.name),
            "clockRate": s.clock_rate,
            "preferredPayloadType": s.pt,
            "rtcpFeedback": (s.feedback)(),
            "parameters": (s.parameters)(),
        });
        if let Some(channels) = s.channels {
            codec["channels"] = json!(channels);
        }
        codecs.push(codec);
        if let Some(rtx) = s.rtx {
            codecs.push(json!({
                "kind": kind,
                "name": "rtx",
                "mimeType": format!("{kind}/rtx"),
                "clockRate": s.clock_rate,
                "preferredPayloadType": rtx,
                "rtcpFeedback": [],
                "parameters": {"apt": s.pt},
            }));
        }
    }
    json!({"codecs": codecs, "headerExtensions": [], "fecMechanisms": []})
}

/// The payload types every transport receives and sends.
pub fn transport_codecs() -> Vec<Codec> {
    SERVED
        .iter()
        .map(|s| Codec {
            name: s.codec,
            pt: s.pt,
            rtx: s.rtx,
            clock_rate: s.clock_rate,
            channels: s.channels,
        })
        .collect()
}

fn served(codec: &RtpCodec) -> Option<&'static Served> {
    SERVED.iter().find(|s| {
        let (kind, name) = codec.mime_type.split_once('/').unwrap_or_default();
        kind == kind_str(s.kind)
            && name.eq_ignore_ascii_case(s.name)
            && codec.clock_rate == s.clock_rate
    })
}

/// A producer's stream, if the server can forward what `rtp` describes for a `kind` track;
/// otherwise why not.
pub fn producer_stream(kind: Kind, rtp: &RtpParameters) -> Result<Stream, String> {
    let media = rtp.codecs.first().ok_or("rtpParameters.codecs is empty")?;
    let s = served(media).filter(|s| s.kind == kind).ok_or_else(|| {
        format!("{} is not a {} codec this server forwards", media.mime_type, kind_str(kind))
    })?;
    if media.payload_type != s.pt {
        return Err(format!(
            "{} is sent as payload type {}; this server receives it as {} (its \
             preferredPayloadType)",
            media.mime_type, media.payload_type, s.pt
        ));
    }
    let rtx_codec = rtp.codecs.iter().skip(1).find(|c| c.mime_type.ends_with("/rtx"));
    if let Some(rtx) = rtx_codec {
        if Some(rtx.payload_type) != s.rtx {
            return Err(format!(
                "RTX is sent as payload type {}; this server receives it as {:?}",
                rtx.payload_type, s.rtx
            ));
        }
    }
    let encoding = rtp.encodings.first().ok_or("rtpParameters.encodings is empty")?;
    let ssrc = encoding.ssrc.ok_or("rtpParameters.encodings[0].ssrc is missing")?;
    let rtx = encoding.rtx.map(|r| r.ssrc).filter(|_| rtx_codec.is_some());
    Ok(Stream { kind, ssrc, rtx })
}

/// Whether a peer that can receive `capabilities` (`None`: it did not say) can receive
/// `rtp`'s media codec.
pub fn can_receive(capabilities: Option<&Value>, rtp: &RtpParameters) -> bool {
    let Some(codecs) = capabilities.and_then(|c| c.get("codecs")).and_then(Value::as_array) else {
        return true;
    };
    let Some(media) = rtp.codecs.first() else { return false };
    codecs.iter().any(|c| {
        let mime = c.get("mimeType").and_then(Value::as_str).unwrap_or_default();
        let rate = c.get("clockRate").and_then(Value::as_u64).unwrap_or_default();
        mime.eq_ignore_ascii_case(&media.mime_type) && rate == u64::from(media.clock_rate)
    })
}

/// A consumer's parameters of producer `rtp`: the server's codec entries, its own `stream`'s
/// SSRCs, the producer's CNAME; and which producer payload type becomes which.
pub fn consumer_rtp(rtp: &RtpParameters, stream: &Stream) -> (RtpParameters, Vec<(u8, u8)>) {
    let mut codecs = Vec::new();
    let mut pts = Vec::new();
    if let Some(s) = rtp.codecs.first().and_then(served) {
        let kind = kind_str(s.kind);
        let parameters = match (s.parameters)() {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        let feedback = match (s.feedback)() {
            Value::Array(list) => list,
            _ => Vec::new(),
        };
        codecs.push(RtpCodec {
            name: Some(s.name.to_owned()),
            mime_type: format!("{kind}/{}", s.name),
            clock_rate: s.clock_rate,
            payload_type: s.pt,
            channels: s.channels,
            rtcp_feedback: feedback,
            parameters,
        });
        pts.push((rtp.codecs[0].payload_type, s.pt));
        if let (Some(rtx), Some(_)) = (s.rtx, stream.rtx) {
            let mut parameters = serde_json::Map::new();
            parameters.insert("apt".into(), json!(s.pt));
            codecs.push(RtpCodec {
                name: Some("rtx".into()),
                mime_type: format!("{kind}/rtx"),
                clock_rate: s.clock_rate,
                payload_type: rtx,
                channels: None,
                rtcp_feedback: Vec::new(),
                parameters,
            });
        }
    }
    let encoding =
        Encoding { ssrc: Some(stream.ssrc), rtx: stream.rtx.map(|ssrc| RtxSsrc { ssrc }) };
    let rtcp = Rtcp { cname: rtp.rtcp.cname.clone(), reduced_size: Some(true), mux: Some(true) };
    let params =
        RtpParameters { codecs, header_extensions: Vec::new(), encodings: vec![encoding], rtcp };
    (params, pts)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn opus(pt: u8) -> RtpParameters {
        serde_json::from_value(json!({
            "codecs": [{"name": "opus", "mimeType": "audio/opus", "clockRate": 48000,
                        "payloadType": pt, "channels": 2, "parameters": {"useinbandfec": 1}}],
            "encodings": [{"ssrc": 1234}],
            "rtcp": {"cname": "c"},
        }))
        .expect("parameters")
    }

    #[test]
    fn capabilities_list_each_codec_with_its_rtx() {
        let caps = room_capabilities();
        let codecs = caps["codecs"].as_array().expect("codecs");
        assert_eq!(codecs.len(), 5);
        assert_eq!(codecs[0]["mimeType"], "audio/opus");
        assert_eq!(codecs[2]["parameters"]["apt"], 96);
        assert_eq!(transport_codecs().len(), 3);
    }

    #[test]
    fn a_producer_must_send_the_servers_payload_types_and_an_ssrc() {
        let stream = producer_stream(Kind::Audio, &opus(111)).expect("served");
        assert_eq!(stream, Stream { kind: Kind::Audio, ssrc: 1234, rtx: None });
        let wrong = producer_stream(Kind::Audio, &opus(109)).expect_err("not its payload type");
        assert!(wrong.contains("111"), "{wrong}");
        assert!(producer_stream(Kind::Video, &opus(111)).is_err(), "audio as video");
        let mut no_ssrc = opus(111);
        no_ssrc.encodings.clear();
        assert!(producer_stream(Kind::Audio, &no_ssrc).is_err());
    }

    #[test]
    fn a_consumer_gets_the_servers_codec_and_its_own_ssrc() {
        let stream = Stream { kind: Kind::Audio, ssrc: 99, rtx: None };
        let (rtp, pts) = consumer_rtp(&opus(111), &stream);
        assert_eq!(rtp.codecs[0].payload_type, 111);
        assert_eq!(rtp.encodings[0].ssrc, Some(99));
        assert_eq!(rtp.rtcp.cname.as_deref(), Some("c"));
        assert_eq!(pts, vec![(111, 111)]);
        assert!(can_receive(None, &rtp));
        let only_vp8 = json!({"codecs": [{"mimeType": "video/VP8", "clockRate": 90000}]});
        assert!(!can_receive(Some(&only_vp8), &rtp));
        let opus_caps = json!({"codecs": [{"mimeType": "audio/OPUS", "clockRate": 48000}]});
        assert!(can_receive(Some(&opus_caps), &rtp));
    }
}
