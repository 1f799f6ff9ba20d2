//! Hostile and malformed inputs: clear errors with offsets, no panics, no
//! execution, bounded memory. How long the worst of them take is scripts/bench's to check.

use std::path::PathBuf;

use picklecost::pickle::{
    InspectOptions, Limits, PickleError, globals_of, inspect, inspect_all, inspect_all_with, inspect_files,
    is_plain_data, scan,
};

#[test]
fn malicious_os_system_is_flagged_and_not_run() {
    let target = format!("/tmp/picklecost_pwned_{}", std::process::id());
    let _ = std::fs::remove_file(&target);
    let payload = format!("cos\nsystem\n(S'touch {target}'\ntR.").into_bytes();

    let reports = inspect_all(&payload);
    assert_eq!(reports.len(), 1);
    let r = reports[0].as_ref().unwrap();
    assert_eq!(r.globals.len(), 1);
    assert_eq!(r.globals[0].name, "os.system");
    assert_eq!(r.globals[0].count, 1);
    assert!(r.globals[0].is_unsafe);
    assert!(!r.plain_data);
    assert_eq!(r.opcodes["REDUCE"].count, 1);
    assert_eq!(r.largest[0].preview, format!("touch {target}"));
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["globals"][0]["unsafe"], true);

    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("malicious.pkl");
    std::fs::write(&file, &payload).unwrap();
    let fr = inspect_files(std::slice::from_ref(&file));
    assert!(fr[0].ok);
    assert!(fr[0].streams[0].globals[0].is_unsafe);
    assert_eq!(globals_of(&payload), ["os.system"]);
    assert!(!is_plain_data(&payload));

    assert!(!std::path::Path::new(&target).exists(), "payload was executed");
}

#[test]
fn every_truncation_is_an_error_with_offset() {
    let data = b"\x80\x05\x95\x2b\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01\x8c\x05hello\x94\x8a\x02\xe8\x03X\x03\x00\x00\x00abc\x94\x8c\x02os\x8c\x06system\x93h\x01e.";
    assert!(inspect_all(data)[0].is_ok());
    for end in 0..data.len() {
        let reports = inspect_all(&data[..end]);
        if end == 0 {
            assert!(reports.is_empty());
            continue;
        }
        assert_eq!(reports.len(), 1);
        let e = reports[0].as_ref().unwrap_err();
        assert!(e.offset() <= end, "{end}: {e}");
    }
    // Specific cases.
    assert_eq!(
        inspect_all(&data[..22])[0].as_ref().unwrap_err(),
        &PickleError::LengthTooLarge {
            opcode: "FRAME",
            offset: 2,
            declared: 43,
            available: 11
        }
    );
    let unframed = b"\x80\x04\x8c\x05hel";
    assert_eq!(
        inspect_all(unframed)[0].as_ref().unwrap_err(),
        &PickleError::LengthTooLarge {
            opcode: "SHORT_BINUNICODE",
            offset: 2,
            declared: 5,
            available: 3
        }
    );
    assert_eq!(
        inspect_all(b"\x80\x04K\x01")[0].as_ref().unwrap_err(),
        &PickleError::MissingStop { offset: 4 }
    );
    assert_eq!(
        inspect_all(b"\x80\x04J\x01")[0].as_ref().unwrap_err(),
        &PickleError::Truncated {
            opcode: "BININT",
            offset: 2,
            needed: 4,
            available: 1
        }
    );
    let e = inspect_all(b"cos\nsys")[0].clone().unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad text line for GLOBAL at offset 0: no terminating newline"
    );
}

#[test]
fn corrupted_inputs() {
    let e = inspect_all(b"\x80\x04K\x01\xffN.").remove(0).unwrap_err();
    assert_eq!(
        e,
        PickleError::UnknownOpcode {
            byte: 0xff,
            offset: 4
        }
    );
    assert_eq!(e.to_string(), "unknown opcode 0xff at offset 4");
    assert_eq!(
        inspect_all(b"\x80\x04a.").remove(0).unwrap_err(),
        PickleError::StackUnderflow {
            opcode: "APPEND",
            offset: 2,
            needed: 2,
            available: 0
        }
    );
    assert_eq!(
        inspect_all(b"]K\x01e.").remove(0).unwrap_err(),
        PickleError::NoMark {
            opcode: "APPENDS",
            offset: 3
        }
    );
    // Items below a MARK are out of reach, as in CPython.
    assert_eq!(
        inspect_all(b"](a.").remove(0).unwrap_err(),
        PickleError::StackUnderflow {
            opcode: "APPEND",
            offset: 2,
            needed: 2,
            available: 0
        }
    );
    assert_eq!(
        inspect_all(b".").remove(0).unwrap_err(),
        PickleError::StackUnderflow {
            opcode: "STOP",
            offset: 0,
            needed: 1,
            available: 0
        }
    );
    assert!(matches!(
        inspect_all(b"Iabc\n.").remove(0).unwrap_err(),
        PickleError::BadLine {
            opcode: "INT",
            offset: 0,
            ..
        }
    ));
    assert!(matches!(
        inspect_all(b"\x80\x04\x8b\xfe\xff\xff\xff.")
            .remove(0)
            .unwrap_err(),
        PickleError::NegativeLength {
            opcode: "LONG4",
            offset: 2,
            declared: -2
        }
    ));
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    for (op, name) in [
        (0x8du8, "BINUNICODE8"),
        (0x8e, "BINBYTES8"),
        (0x96, "BYTEARRAY8"),
        (0x95, "FRAME"),
    ] {
        let mut d = vec![0x80, 0x05, op];
        d.extend_from_slice(&(1u64 << 60).to_le_bytes());
        d.extend_from_slice(b"abc.");
        let e = inspect_all(&d).remove(0).unwrap_err();
        assert_eq!(
            e,
            PickleError::LengthTooLarge {
                opcode: name,
                offset: 2,
                declared: 1 << 60,
                available: 4
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{name} at offset 2 declares length 1152921504606846976, larger than the 4 bytes remaining"
            )
        );
    }
    let mut d = b"\x80\x04X".to_vec();
    d.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        scan(&d),
        Err(PickleError::LengthTooLarge {
            declared: 0xffff_ffff,
            ..
        })
    ));
}

#[test]
fn a_million_marks_hit_the_depth_limit() {
    let mut d = vec![b'('; 1_000_000];
    d.push(b'.');
    let e = inspect_all(&d).remove(0).unwrap_err();
    assert_eq!(
        e,
        PickleError::DepthLimit {
            limit: 10_000,
            offset: 10_000
        }
    );
}

#[test]
fn a_million_nested_lists() {
    // EMPTY_LIST x 1e6, then APPEND x (1e6 - 1): [[[...]]] a million deep.
    let n = 1_000_000;
    let mut d = b"\x80\x04".to_vec();
    d.extend(std::iter::repeat_n(b']', n));
    d.extend(std::iter::repeat_n(b'a', n - 1));
    d.push(b'.');
    let e = inspect_all(&d).remove(0).unwrap_err();
    assert_eq!(
        e,
        PickleError::DepthLimit {
            limit: 10_000,
            offset: 2 + 10_000
        }
    );

    // With the depth limit lifted the run-length-encoded stack stays tiny and
    // the value is far too deep to hand to serde_pickle.
    let opts = InspectOptions {
        limits: Limits {
            max_depth: usize::MAX,
            max_stack_entries: 16,
            ..Limits::default()
        },
        ..InspectOptions::default()
    };
    let r = inspect_all_with(&d, &opts).remove(0).unwrap();
    assert_eq!(r.max_depth, n);
    assert!(!r.plain_data);
    assert_eq!(r.opcodes["APPEND"].count, n as u64 - 1);
}

#[test]
fn many_distinct_strings_hit_the_stack_entry_limit() {
    let mut d = b"\x80\x04(".to_vec();
    for _ in 0..100 {
        d.extend_from_slice(b"\x8c\x01a");
    }
    d.extend_from_slice(b"t.");
    let opts = InspectOptions {
        limits: Limits {
            max_stack_entries: 50,
            ..Limits::default()
        },
        ..InspectOptions::default()
    };
    assert_eq!(
        inspect_all_with(&d, &opts).remove(0).unwrap_err(),
        PickleError::StackLimit {
            limit: 50,
            offset: 3 + 50 * 3
        }
    );
    assert!(inspect_all(&d)[0].is_ok());
}

#[test]
fn depth_just_inside_the_decode_limit_is_decoded() {
    // Shallow values decode inline, deeper ones on a big-stack thread, and
    // beyond Limits::max_decode_depth (1000) they are refused.
    for (n, plain) in [(30usize, true), (400, true), (1000, true), (1001, false)] {
        let mut d = b"\x80\x04".to_vec();
        d.extend(std::iter::repeat_n(b']', n));
        d.extend(std::iter::repeat_n(b'a', n - 1));
        d.push(b'.');
        let opts = InspectOptions {
            dump: true,
            ..Default::default()
        };
        let r = inspect(&d, &opts).unwrap();
        assert_eq!(r.plain_data, plain, "{n}");
        if plain {
            let dump = r.dump.unwrap();
            assert_eq!(dump, format!("{}{}", "[".repeat(n), "]".repeat(n)));
        }
    }
}

#[test]
fn concatenated_streams_with_bad_tail() {
    let mut d = Vec::new();
    d.extend_from_slice(b"K\x01.");
    d.extend_from_slice(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.");
    d.extend_from_slice(b"]\x94.");
    d.extend_from_slice(b"\x80\x04\x8c\x03os");
    let reports = inspect_all(&d);
    assert_eq!(reports.len(), 4);
    let r: Vec<_> = reports[..3].iter().map(|r| r.as_ref().unwrap()).collect();
    assert_eq!((r[0].offset, r[0].size, r[0].plain_data), (0, 3, true));
    assert_eq!((r[1].offset, r[1].size), (3, 20));
    assert_eq!(r[1].globals[0].name, "builtins.eval");
    assert!(r[1].globals[0].is_unsafe);
    assert_eq!((r[2].offset, r[2].size, r[2].plain_data), (23, 3, true));
    assert_eq!(
        reports[3].as_ref().unwrap_err(),
        &PickleError::LengthTooLarge {
            opcode: "SHORT_BINUNICODE",
            offset: 28,
            declared: 3,
            available: 2
        }
    );
    assert_eq!(globals_of(&d), ["builtins.eval"]);
    assert!(!is_plain_data(&d));
    assert!(is_plain_data(b"K\x01.]\x94."));
    assert!(!is_plain_data(b""));
    assert!(!is_plain_data(b"K\x01.K"));
}

#[test]
fn inspect_files_in_parallel() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("files");
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    for i in 0..8u8 {
        let p = dir.join(format!("f{i}.pkl"));
        std::fs::write(&p, [b'K', i, b'.']).unwrap();
        paths.push(p);
    }
    let bad = dir.join("bad.pkl");
    std::fs::write(&bad, b"K\x01.\xff").unwrap();
    paths.push(bad);
    paths.push(dir.join("missing.pkl"));
    let reports = inspect_files(&paths);
    assert_eq!(reports.len(), 10);
    for (r, p) in reports.iter().zip(&paths) {
        assert_eq!(&r.path, p);
    }
    assert!(
        reports[..8]
            .iter()
            .all(|r| r.ok && r.streams.len() == 1 && r.streams[0].plain_data)
    );
    assert!(!reports[8].ok);
    assert_eq!(reports[8].streams.len(), 1);
    assert_eq!(
        reports[8].error.as_deref(),
        Some("unknown opcode 0xff at offset 3")
    );
    assert_eq!(reports[8].error_offset, Some(3));
    assert!(!reports[9].ok && reports[9].error.is_some() && reports[9].streams.is_empty());
    serde_json::to_string(&reports).unwrap();
}

#[test]
fn billion_laughs_is_not_decoded() {
    // l(n+1) = [l(n), l(n)] sixty times: ~1 KB that serde_pickle would expand
    // to 2^60 nodes.
    let mut s = b"\x80\x04]\x94\x8c\x01x\x94a".to_vec();
    let mut prev = 0u32;
    for i in 0..60u32 {
        s.extend_from_slice(b"]\x94(j");
        s.extend_from_slice(&prev.to_le_bytes());
        s.extend_from_slice(b"j");
        s.extend_from_slice(&prev.to_le_bytes());
        s.extend_from_slice(b"e");
        prev = 2 + i;
    }
    s.push(b'.');
    let r = inspect(
        &s,
        &InspectOptions {
            dump: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!r.plain_data && r.dump.is_none());
}

#[test]
fn random_bytes_never_panic() {
    // xorshift, so the test is deterministic without a rand dependency.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet: Vec<u8> = picklecost::pickle::Opcode::ALL
        .iter()
        .map(|o| o.byte())
        .chain([0, 1, 2, 0xff, b'\n'])
        .collect();
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let d: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let opts = InspectOptions {
            dump: true,
            ..Default::default()
        };
        for r in inspect_all_with(&d, &opts) {
            if let Err(e) = r {
                assert!(e.offset() <= d.len());
            }
        }
        let _ = globals_of(&d);
    }
}

/// Found by `scripts/fuzz`: NaN floats inside a frozenset made serde_pickle's sort panic during
/// the plain-data check. Every input the fuzzer ever crashed on lives in regressions/.
#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pickle/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let options = picklecost::pickle::InspectOptions {
            dump: true,
            ..Default::default()
        };
        for r in picklecost::pickle::inspect_all_with(&data, &options) {
            if let Err(e) = r {
                assert!(e.offset() <= data.len());
            }
        }
        let _ = picklecost::pickle::is_plain_data(&data);
        seen += 1;
    }
    assert!(seen >= 1);
}

#[test]
fn nan_in_a_set_is_not_plain_but_nan_in_a_list_still_parses() {
    // frozenset({nan}) and [nan], protocol 4, written by hand to match CPython's opcodes.
    let nan = f64::NAN.to_be_bytes();
    let mut set = vec![0x80, 4, 0x28, b'G'];
    set.extend_from_slice(&nan);
    set.extend_from_slice(&[0x91, b'.']);
    let reports = picklecost::pickle::inspect_all(&set);
    assert!(!reports[0].as_ref().unwrap().plain_data);
    let mut list = vec![0x80, 4, b']', b'G'];
    list.extend_from_slice(&nan);
    list.extend_from_slice(b"a.");
    assert!(picklecost::pickle::inspect_all(&list)[0].is_ok());
}
