//! Cross-checks the reader and analyser against CPython's pickletools and
//! unpickler on fixtures written by CPython 3.13 (tests/support/pickle/gen_fixtures.py).

use std::collections::BTreeMap;

use picklecost::pickle::{
    InspectOptions, Reader, StreamReport, globals_of, inspect_all, inspect_all_with, is_plain_data,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    file: String,
    ops: Vec<(String, usize)>,
    globals: Vec<String>,
    protocol: Option<u8>,
    size: usize,
    frames: u64,
    buffers: u64,
    memo_puts: u64,
    memo_gets: u64,
    object_ops: bool,
    cyclic: bool,
}

fn load() -> (std::path::PathBuf, Vec<Case>) {
    let dir = crate::util::fixtures();
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    (dir, serde_json::from_slice(&manifest).unwrap())
}

fn expanded_globals(r: &StreamReport) -> Vec<String> {
    let mut v: Vec<String> = r
        .globals
        .iter()
        .flat_map(|g| std::iter::repeat_n(g.name.clone(), g.count as usize))
        .collect();
    v.sort();
    v
}

fn check_case(dir: &std::path::Path, c: &Case) -> Vec<String> {
    let mut errs = Vec::new();
    let data = std::fs::read(dir.join(&c.file)).unwrap();
    let mut fail = |what: &str, got: String, want: String| {
        if got != want {
            errs.push(format!("{}: {what}: got {got}, want {want}", c.name));
        }
    };

    let ops: Result<Vec<(String, usize)>, _> = Reader::new(&data)
        .map(|r| r.map(|op| (op.opcode.name().to_string(), op.offset)))
        .collect();
    match ops {
        Ok(ops) => fail("ops", format!("{ops:?}"), format!("{:?}", c.ops)),
        Err(e) => fail("reader", e.to_string(), "no error".into()),
    }

    let reports = inspect_all(&data);
    if reports.len() != 1 {
        fail("streams", format!("{reports:?}"), "one stream".into());
        return errs;
    }
    let r = match &reports[0] {
        Ok(r) => r,
        Err(e) => {
            fail("inspect", e.to_string(), "ok".into());
            return errs;
        }
    };
    fail("size", r.size.to_string(), c.size.to_string());
    fail("size=len", r.size.to_string(), data.len().to_string());
    fail(
        "protocol",
        format!("{:?}", r.protocol),
        format!("{:?}", c.protocol),
    );
    fail("frames", r.frames.to_string(), c.frames.to_string());
    fail("buffers", r.buffers.to_string(), c.buffers.to_string());
    fail("memo.puts", r.memo.puts.to_string(), c.memo_puts.to_string());
    fail("memo.gets", r.memo.gets.to_string(), c.memo_gets.to_string());
    fail(
        "globals",
        format!("{:?}", expanded_globals(r)),
        format!("{:?}", c.globals),
    );
    let want_plain = !c.object_ops && !c.cyclic;
    fail("plain_data", r.plain_data.to_string(), want_plain.to_string());
    fail(
        "is_plain_data",
        is_plain_data(&data).to_string(),
        want_plain.to_string(),
    );

    let mut want_counts: BTreeMap<String, u64> = BTreeMap::new();
    for (name, _) in &c.ops {
        *want_counts.entry(name.clone()).or_default() += 1;
    }
    let got_counts: BTreeMap<String, u64> = r.opcodes.iter().map(|(k, v)| (k.clone(), v.count)).collect();
    fail(
        "opcode counts",
        format!("{got_counts:?}"),
        format!("{want_counts:?}"),
    );
    let bytes: u64 = r.opcodes.values().map(|s| s.bytes).sum();
    fail("opcode bytes", bytes.to_string(), data.len().to_string());

    let mut distinct = c.globals.clone();
    distinct.dedup();
    fail(
        "globals_of",
        format!("{:?}", globals_of(&data)),
        format!("{distinct:?}"),
    );
    errs
}

#[test]
fn matches_cpython_on_every_fixture() {
    let (dir, cases) = load();
    assert!(cases.len() > 200, "only {} cases", cases.len());
    let errs: Vec<String> = cases.iter().flat_map(|c| check_case(&dir, c)).collect();
    assert!(errs.is_empty(), "{} mismatches:\n{}", errs.len(), errs.join("\n"));
}

#[test]
fn every_opcode_is_covered_by_fixtures() {
    let (_, cases) = load();
    let seen: std::collections::BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.ops.iter().map(|(n, _)| n.as_str()))
        .collect();
    let missing: Vec<&str> = picklecost::pickle::Opcode::ALL
        .iter()
        .map(|o| o.name())
        .filter(|n| !seen.contains(n))
        .collect();
    assert!(missing.is_empty(), "opcodes without a fixture: {missing:?}");
}

#[test]
fn specific_values() {
    let (dir, _) = load();
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let one = |f: &str| inspect_all(&read(f)).remove(0).unwrap();

    let r = one("classes_p4.pkl");
    let names: Vec<(&str, u64, bool)> = r
        .globals
        .iter()
        .map(|g| (g.name.as_str(), g.count, g.is_unsafe))
        .collect();
    assert_eq!(
        names,
        [
            ("fixmod.Point", 1, false),
            ("fixmod.Outer", 1, false),
            ("fixmod.Outer.Inner", 1, false),
            ("builtins.len", 1, false),
            ("builtins.int", 1, false)
        ]
    );
    // Protocol 2 spells nested classes via getattr, which is flagged.
    let r = one("classes_p2.pkl");
    assert!(
        r.globals
            .iter()
            .any(|g| g.name == "__builtin__.getattr" && g.is_unsafe)
    );

    let r = one("posix_system.pkl");
    assert_eq!(r.globals.len(), 1);
    assert!(r.globals[0].is_unsafe);

    let r = one("big_string_p4.pkl");
    assert_eq!(r.largest[0].kind, "str");
    assert_eq!(r.largest[0].size, 200_000);
    assert_eq!(r.largest[0].preview, "z".repeat(60));
    let r = one("bytearray_p5.pkl");
    assert_eq!(r.largest[0].kind, "bytearray");
    assert_eq!(r.largest[0].preview, "abc\\x00");
    let r = one("strs_p4.pkl");
    let sizes: Vec<usize> = r.largest.iter().map(|l| l.size).collect();
    assert_eq!(sizes, [300, "héllo wörld ☃ 🐍".len(), 7, 5, 0]);
    assert_eq!(r.largest[1].preview, "héllo wörld ☃ 🐍");
    assert_eq!(r.largest[2].preview, "a\\nb\\\\c\\r\\0");

    let r = one("oob_buffers_p5.pkl");
    assert_eq!(r.buffers, 2);
    assert_eq!(r.opcodes["READONLY_BUFFER"].count, 1);

    let opts = InspectOptions {
        dump: true,
        ..Default::default()
    };
    let r = inspect_all_with(&read("nested_p2.pkl"), &opts).remove(0).unwrap();
    // Protocol 2 pickles sets via __builtin__.set + REDUCE: not plain.
    assert!(!r.plain_data && r.dump.is_none());
    let r = inspect_all_with(&read("nested_p4.pkl"), &opts).remove(0).unwrap();
    assert!(r.plain_data);
    assert_eq!(
        r.dump.as_deref(),
        Some("{'f': frozenset({'a'}), 'k': [(1, {'x': {2, 3}}), [[[[]]]]]}")
    );
    let r = inspect_all_with(&read("huge_long_p0.pkl"), &opts)
        .remove(0)
        .unwrap();
    assert!(r.dump.unwrap().starts_with("[10715086071862673209484250490600018105614048117055336074437503883703510511249361224931983788156958581275946729175531468251871452856923140435984577574698574803934567774824230985421074605062371141877954182153046474983581941267398767559165543946077062914571196477686542167660429831652624386837205668069376, -"));
    assert_eq!(r.protocol, None);

    // A tuple that contains itself is unwound with POP_MARK (protocol 1) or POP.
    assert!(one("recursive_tuple_p1.pkl").opcodes.contains_key("POP_MARK"));
    assert!(one("recursive_tuple_p4.pkl").opcodes.contains_key("POP"));
    let r = one("big_dict_p2.pkl");
    assert_eq!(r.opcodes["SETITEMS"].count, 3);
    assert_eq!(r.max_depth, 2, "dict plus one MARK");
    let r = one("nested_p0.pkl");
    assert_eq!(r.protocol, None);
    assert!(r.max_depth >= 5);
}

#[test]
fn concatenated_cpython_streams() {
    let (dir, _) = load();
    let files = [
        "ints_p0.pkl",
        "point_p2.pkl",
        "big_string_p4.pkl",
        "oob_buffers_p5.pkl",
        "dict_p1.pkl",
    ];
    let parts: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    let mut all: Vec<u8> = parts.concat();
    let reports = inspect_all(&all);
    assert_eq!(reports.len(), files.len());
    let mut off = 0;
    for (r, part) in reports.iter().zip(&parts) {
        let r = r.as_ref().unwrap();
        let alone = inspect_all(part).remove(0).unwrap();
        assert_eq!(r.offset, off);
        assert_eq!(r.size, part.len());
        assert_eq!(r.globals, alone.globals);
        assert_eq!(r.opcodes, alone.opcodes);
        assert_eq!(
            r.largest.iter().map(|l| l.offset - off).collect::<Vec<_>>(),
            alone.largest.iter().map(|l| l.offset).collect::<Vec<_>>()
        );
        off += part.len();
    }
    // A truncated last stream: earlier streams survive, the error points
    // into the last one.
    let last_start = all.len() - parts[4].len();
    all.truncate(all.len() - 3);
    let reports = inspect_all(&all);
    assert_eq!(reports.len(), files.len());
    assert!(reports[..4].iter().all(|r| r.is_ok()));
    let err = reports[4].as_ref().unwrap_err();
    assert!(err.offset() >= last_start && err.offset() <= all.len(), "{err}");
}

/// `plain_data` is decided from the opcode stream; the reference decodes every stream
/// without object opcodes with serde_pickle (the old method). Both must agree everywhere.
fn assert_plain_matches_decoding(data: &[u8], what: &str, seen: &mut [usize; 2]) {
    let opts = InspectOptions {
        top_n: 0,
        ..InspectOptions::default()
    };
    let fast: Vec<bool> = inspect_all_with(data, &opts)
        .into_iter()
        .map_while(Result::ok)
        .map(|r| r.plain_data)
        .collect();
    let decoded = picklecost::pickle::plain_data_by_decoding(data, &opts);
    assert_eq!(fast, decoded, "{what}: {:?}", data.escape_ascii().to_string());
    for p in fast {
        seen[p as usize] += 1;
    }
}

#[test]
fn plain_decision_from_opcodes_equals_decoding_on_every_fixture() {
    let (dir, cases) = load();
    let mut seen = [0usize; 2];
    for c in &cases {
        let data = std::fs::read(dir.join(&c.file)).unwrap();
        assert_plain_matches_decoding(&data, &c.name, &mut seen);
        // Every prefix that still ends in STOP, and single-byte edits that keep it parsing.
        for end in (1..data.len()).filter(|&e| data[e - 1] == b'.') {
            assert_plain_matches_decoding(&data[..end], &c.name, &mut seen);
        }
        if data.len() < 200 {
            for i in 0..data.len() {
                for b in [
                    b'N', b'0', b'2', b'(', b'e', b'u', b't', b'a', b's', 0x85, 0x91, 0x90, 0x94,
                ] {
                    let mut d = data.clone();
                    d[i] = b;
                    assert_plain_matches_decoding(&d, &c.name, &mut seen);
                }
            }
        }
    }
    let regressions = crate::util::root().join("tests/support/pickle/regressions");
    for e in std::fs::read_dir(regressions).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        assert_plain_matches_decoding(&data, "regression", &mut seen);
    }
    assert!(
        seen[0] > 1000 && seen[1] > 1000,
        "too few decisions either way: {seen:?}"
    );
}

#[test]
fn plain_decision_from_opcodes_equals_decoding_on_generated_streams() {
    let mut seen = [0usize; 2];
    // Hand-written edge cases: each is decided either way, from the stream or by the fallback.
    let cases: &[&[u8]] = &[
        b"\x80\x04]\x94(K\x01K\x02e.",                // list, memoized
        b"\x80\x04]\x94h\x00a.",                      // cyclic list
        b"\x80\x04}\x94(]\x94K\x01u.",                // list as dict key: not plain
        b"\x80\x04}\x94(K\x01]u.",                    // list as value: plain
        b"\x80\x04}(K\x01K\x02K\x03u.",               // odd item dropped
        b"\x80\x04}(]K\x02]u.",                       // odd trailing list key dropped
        b"\x80\x04(]\x91.",                           // list in a frozenset
        b"\x80\x04\x8f(K\x01)\x90.",                  // set of int and ()
        b"\x80\x04\x8f(]\x90.",                       // list in a set
        b"\x80\x04(]\x85\x91.",                       // tuple holding a list, in a frozenset
        b"\x80\x04)K\x01a.",                          // APPEND to a tuple
        b"\x80\x04]K\x01s.",                          // SETITEM on a list
        b"\x80\x04]\x94h\x01.",                       // GET of a missing index
        b"\x80\x04]2K\x01a.",                         // DUP
        b"\x80\x04]\x94K\x01\x94\x85h\x00K\x02a.",    // mutation through GET after sharing
        b"\x80\x04]\x94h\x00\x85\x94\x8c\x01x\x94a.", // mutation of a live shared list
        b"\x80\x04]q\x00]q\x00h\x00.",                // memo index written twice
        b"\x80\x04K\x01\x94\x94.",                    // memoized twice
        b"\x80\x04\x8c\x02\xff\xfe\x94.",             // invalid UTF-8
        b"S'it\\'s'\n.",                              // escape serde_pickle rejects
        b"S'a\\x41'\n.",
        b"Vx\\u20ac\n.",
        b"V\\ud800\n.",
        b"I123456789012345678901\n.", // INT beyond i64
        b"L123456789012345678901L\n.",
        b"Fnan\n.",
        b"F1e5000\n.",
        b"Fabc\n.",
        b"(G\x7f\xf8\x00\x00\x00\x00\x00\x00\x91.", // NaN in a frozenset
        b"(G\x7f\xf8\x00\x00\x00\x00\x00\x00l.",    // NaN in a list
        b"(G?\xf0\x00\x00\x00\x00\x00\x00\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x01d.",
        b"K\x01K\x02.",    // leftover stack
        b"(K\x010K\x02.",  // POP
        b"(0K\x02.",       // POP of a bare MARK
        b"(K\x01]1K\x03.", // POP_MARK
        b"p0\n.",
        b"K\x01p0\ng0\n\x86.",
        b"K\x01p+0\ng0\n\x86.",
        b"K\x01p99999999999\ng99999999999\n\x86.",
        b"]r\x00\x00\x01\x00j\x00\x00\x01\x00\x85.", // sparse memo index
    ];
    for c in cases {
        assert_plain_matches_decoding(c, "edge case", &mut seen);
    }
    // Random streams over the plain opcodes (xorshift: deterministic without a rand crate).
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let pieces: &[&[u8]] = &[
        b"K\x01",
        b"K\x02",
        b"N",
        b"\x88",
        b"G?\xf0\x00\x00\x00\x00\x00\x00",
        b"\x8c\x01a",
        b"\x8c\x01b",
        b"C\x01z",
        b"]",
        b")",
        b"}",
        b"\x8f",
        b"(",
        b"e",
        b"a",
        b"s",
        b"u",
        b"t",
        b"l",
        b"d",
        b"\x85",
        b"\x86",
        b"\x87",
        b"\x90",
        b"\x91",
        b"0",
        b"1",
        b"2",
        b"\x94",
        b"h\x00",
        b"h\x01",
        b"h\x02",
        b"q\x00",
        b"q\x03",
        b"h\x03",
        b"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x01",
    ];
    for _ in 0..200_000 {
        let mut d = b"\x80\x04".to_vec();
        for _ in 0..(next() % 24) {
            d.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
        }
        d.push(b'.');
        assert_plain_matches_decoding(&d, "generated", &mut seen);
    }
    assert!(
        seen[0] > 1000 && seen[1] > 1000,
        "too few decisions either way: {seen:?}"
    );
}
