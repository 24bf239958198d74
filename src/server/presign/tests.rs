//! Presigned URLs: signing, verifying, tampering, and the encoding of object paths.

use super::*;

#[test]
fn public_urls_are_checked_and_lose_a_trailing_slash() {
    for (given, kept) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://files.example.com/", "https://files.example.com"),
        ("https://example.com/files/", "https://example.com/files"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ] {
        assert_eq!(parse_public_url(given).as_deref(), Ok(kept), "{given}");
    }
    for bad in [
        "files.example.com",
        "ftp://files.example.com",
        "https://user:pw@files.example.com",
        "https://user@files.example.com",
        "https://files.example.com/?a=1",
        "https://files.example.com/?",
        "https://files.example.com/#top",
        "file:///tmp",
        "",
    ] {
        assert!(parse_public_url(bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn object_paths_decode_only_whole_escapes() {
    assert_eq!(percent_decode("a%2Bb%20c%C3%A4").as_deref(), Some("a+b cä"));
    // `u8::from_str_radix` took `+f` for 15: a sign is no hex digit.
    for bad in ["%+f", "a%-1", "%zz", "%4", "%", "%FF"] {
        assert_eq!(percent_decode(bad), None, "{bad}");
    }
    assert_eq!(
        parse_object_path("/objects/ws1/a%2Fb/c%20d"),
        Some(("ws1".to_string(), "a/b/c d".to_string()))
    );
    assert_eq!(parse_object_path("/objects/ws1/a%+f"), None);
    let key = "raw data/ä?#%+.txt";
    assert_eq!(encode_key(key), "raw%20data/%C3%A4%3F%23%25%2B.txt");
    assert_eq!(percent_decode(&encode_key(key)).as_deref(), Some(key));
}

fn signer() -> Signer {
    Signer { secret: [7; 32] }
}

#[test]
fn round_trip_and_tamper() {
    let s = signer();
    let key = "raw data/ä?#%.txt";
    let url = s.url("http://h", "GET", "ws1", key, Duration::from_secs(60), None);
    let uri: Uri = url.parse().unwrap();
    let t = s.verify("GET", &uri).unwrap();
    assert_eq!((t.workspace.as_str(), t.key.as_str()), ("ws1", key));
    assert_eq!(s.verify("PUT", &uri).unwrap_err().code, "bad_signature");
    let tampered: Uri = url.replace("ws1", "ws2").parse().unwrap();
    assert_eq!(
        s.verify("GET", &tampered).unwrap_err().code,
        "bad_signature"
    );

    let terms = PutTerms {
        content_type: "text/plain".into(),
        size: 5,
        upload: "u1".into(),
        key_id: "k1".into(),
        display: None,
    };
    let url = s.url(
        "http://h",
        "PUT",
        "ws1",
        "a/b",
        Duration::from_secs(60),
        Some(&terms),
    );
    let t = s.verify("PUT", &url.parse().unwrap()).unwrap();
    assert_eq!(t.put, Some(terms));
    for tampered in [
        url.replace("X-Size=5", "X-Size=6"),
        url.replace("X-Upload=u1", "X-Upload=u2"),
        url.replace("&X-Upload=u1", ""),
        url.replace("X-Key=k1", "X-Key=k2"),
        url.replace("&X-Key=k1", ""),
    ] {
        let tampered: Uri = tampered.parse().unwrap();
        assert_eq!(
            s.verify("PUT", &tampered).unwrap_err().code,
            "bad_signature"
        );
    }

    // An opaque key's display path is signed too.
    let opaque = PutTerms {
        content_type: "text/plain".into(),
        size: 5,
        upload: "u2".into(),
        key_id: "k1".into(),
        display: Some(("raw dir/".into(), "ä&b=c.txt".into())),
    };
    let url = s.url(
        "http://h",
        "PUT",
        "ws1",
        "obj_0123",
        Duration::from_secs(60),
        Some(&opaque),
    );
    let t = s.verify("PUT", &url.parse().unwrap()).unwrap();
    assert_eq!(t.put, Some(opaque));
    for tampered in [
        url.replace("X-Path=raw", "X-Path=raX"),
        url.replace("&X-Name=", "&X-Nom="),
        url.replace("&X-Path=", "&X-Pat="),
    ] {
        let tampered: Uri = tampered.parse().unwrap();
        assert_eq!(
            s.verify("PUT", &tampered).unwrap_err().code,
            "bad_signature"
        );
    }

    let expired = s.url("http://h", "GET", "ws1", "a", Duration::ZERO, None);
    assert_eq!(
        s.verify("GET", &expired.parse().unwrap()).unwrap_err().code,
        "expired"
    );
}
