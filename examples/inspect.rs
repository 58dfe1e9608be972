//! Prints what a GGUF file holds, reading it the way the browser does: through `GgufStream`
//! in small chunks.
//!
//!     cargo run --release --example inspect -- FILE.gguf [--chunk N]
//!
//! An invalid file prints `error [CODE]: message` and exits with status 1.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;

use wasm_chord::gguf::{Array, GgufStream, LoadedGguf, StreamStatus, Value};

const DEFAULT_CHUNK: usize = 64 * 1024;
/// Arrays longer than this are summarised.
const ARRAY_SHOWN: usize = 8;
const STRING_SHOWN: usize = 96;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, chunk) = match parse_args(&args) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}\nusage: inspect FILE.gguf [--chunk BYTES]");
            return ExitCode::from(2);
        }
    };
    match run(&path, chunk) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("error [{code}]: {msg}");
            ExitCode::from(1)
        }
    }
}

fn parse_args(args: &[String]) -> Result<(String, usize), String> {
    let mut path = None;
    let mut chunk = DEFAULT_CHUNK;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--chunk" => {
                let v = it.next().ok_or("--chunk needs a value")?;
                chunk = v
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n > 0)
                    .ok_or_else(|| format!("bad chunk size {v:?}"))?;
            }
            _ if path.is_none() => path = Some(a.clone()),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    Ok((path.ok_or("no file given")?, chunk))
}

type Failure = (&'static str, String);

fn gguf_err(e: wasm_chord::Error) -> Failure {
    (e.code(), e.to_string())
}

fn io_err(path: &str, e: std::io::Error) -> Failure {
    ("IO", format!("{path}: {e}"))
}

fn run(path: &str, chunk: usize) -> Result<(), Failure> {
    let mut file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();

    let t0 = Instant::now();
    let mut stream = GgufStream::new(Some(len));
    let mut buf = vec![0u8; chunk];
    let mut ready = None;
    let mut chunks = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        chunks += 1;
        if stream.push(&buf[..n]).map_err(gguf_err)? == StreamStatus::HeaderReady {
            ready = Some((stream.received(), t0.elapsed()));
        }
    }
    let loaded = stream.finish().map_err(gguf_err)?;
    let total = t0.elapsed();

    print_file(path, &loaded);
    println!();
    println!("timings ({chunks} reads of up to {chunk} bytes):");
    if let Some((at, t)) = ready {
        println!(
            "  header ready   after {:>12} bytes ({:.1}% of the file) in {:.2} ms",
            at,
            100.0 * at as f64 / len.max(1) as f64,
            t.as_secs_f64() * 1e3
        );
    }
    println!(
        "  whole file     {:>12} bytes in {:.2} ms ({:.0} MB/s)",
        len,
        total.as_secs_f64() * 1e3,
        len as f64 / 1e6 / total.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn print_file(path: &str, f: &LoadedGguf) {
    let h = f.header();
    println!("{path}: GGUF v{}", h.version);
    println!(
        "  header_len {}  data_start {}  alignment {}  file_len {}",
        h.header_len,
        h.data_start,
        h.alignment,
        f.len()
    );

    println!("\nmetadata ({} entries):", h.metadata.len());
    let key_w = h.metadata.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in h.metadata.iter() {
        println!("  {k:<key_w$}  {:<14} {}", v.type_name(), show_value(v));
    }

    println!("\ntensors ({}):", h.tensors.len());
    let name_w = h.tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
    println!(
        "  {:<name_w$}  {:<5} {:<22} {:>12} {:>12}",
        "name", "type", "shape", "abs offset", "bytes"
    );
    for t in &h.tensors {
        let shape = format!("{:?}", t.dims);
        println!(
            "  {:<name_w$}  {:<5} {:<22} {:>12} {:>12}",
            t.name,
            t.ty.name(),
            shape,
            t.abs_range(h.data_start).start,
            t.n_bytes
        );
    }

    println!("\nper type:");
    let mut by_type: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for t in &h.tensors {
        let e = by_type.entry(t.ty.name()).or_default();
        e.0 += 1;
        e.1 += t.n_bytes;
    }
    let total: u64 = by_type.values().map(|e| e.1).sum();
    for (name, (count, bytes)) in &by_type {
        println!(
            "  {name:<5} {count:>4} tensors {bytes:>12} bytes ({:>5.1}%)",
            100.0 * *bytes as f64 / total.max(1) as f64
        );
    }
    println!("  total {:>4} tensors {total:>12} bytes", h.tensors.len());
}

fn show_str(s: &str) -> String {
    if s.chars().count() <= STRING_SHOWN {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(STRING_SHOWN).collect();
        format!("{head:?}… ({} bytes)", s.len())
    }
}

fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => show_str(s),
        Value::Array(a) => show_array(a),
        Value::U8(x) => x.to_string(),
        Value::I8(x) => x.to_string(),
        Value::U16(x) => x.to_string(),
        Value::I16(x) => x.to_string(),
        Value::U32(x) => x.to_string(),
        Value::I32(x) => x.to_string(),
        Value::F32(x) => x.to_string(),
        Value::Bool(x) => x.to_string(),
        Value::U64(x) => x.to_string(),
        Value::I64(x) => x.to_string(),
        Value::F64(x) => x.to_string(),
    }
}

fn show_array(a: &Array) -> String {
    fn list<T: std::fmt::Debug>(v: &[T]) -> Vec<String> {
        v.iter()
            .take(ARRAY_SHOWN)
            .map(|x| format!("{x:?}"))
            .collect()
    }
    let shown: Vec<String> = match a {
        Array::U8(v) => list(v),
        Array::I8(v) => list(v),
        Array::U16(v) => list(v),
        Array::I16(v) => list(v),
        Array::U32(v) => list(v),
        Array::I32(v) => list(v),
        Array::F32(v) => list(v),
        Array::Bool(v) => list(v),
        Array::U64(v) => list(v),
        Array::I64(v) => list(v),
        Array::F64(v) => list(v),
        Array::String(v) => v.iter().take(ARRAY_SHOWN).map(show_str).collect(),
        Array::Array(v) => v.iter().take(ARRAY_SHOWN).map(show_array).collect(),
    };
    if a.len() > ARRAY_SHOWN {
        format!(
            "len {} [{}, …]",
            a.len(),
            shown[..4.min(shown.len())].join(", ")
        )
    } else {
        format!("[{}]", shown.join(", "))
    }
}
