//! Writes the synthetic llama models of tests/support/synthetic_models.rs to a directory, for
//! llama.cpp to run (scripts/oracle/model-fixtures.mjs does this first):
//!
//!     cargo run --example make_synthetic_models -- OUTDIR [--stats]
//!
//! Prints one JSON line per file: `{"variant", "file", "path", "bytes", "sha256"}`.
//! `--stats` also prints, per tensor, its type and the mean and standard deviation of its
//! dequantized values (to stderr), to check the generators' scaling.

#[path = "../tests/support/synthetic_models.rs"]
mod synthetic_models;

use std::path::PathBuf;
use std::process::ExitCode;

use wasm_chord::gguf::GgufFile;
use wasm_chord::quant::dequantize;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stats = args.iter().any(|a| a == "--stats");
    let dirs: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [dir] = dirs[..] else {
        eprintln!("usage: make_synthetic_models OUTDIR [--stats]");
        return ExitCode::from(2);
    };
    let written = match synthetic_models::write_all(&PathBuf::from(dir)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("make_synthetic_models: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (variant, path, sha) in &written {
        let bytes = std::fs::read(path).expect("file just written");
        println!(
            "{{\"variant\":\"{}\",\"file\":\"{}\",\"path\":{:?},\"bytes\":{},\"sha256\":\"{}\"}}",
            variant.name,
            variant.file_name(),
            path.display().to_string(),
            bytes.len(),
            sha
        );
        if stats {
            print_stats(variant.name, &bytes);
        }
    }
    ExitCode::SUCCESS
}

fn print_stats(name: &str, bytes: &[u8]) {
    let file = GgufFile::parse(bytes).expect("generated file parses");
    eprintln!("== {name}");
    for info in &file.header().tensors {
        let view = file
            .tensor(&info.name)
            .expect("tensor listed in the header");
        let n: u64 = info.dims.iter().product();
        let mut out = vec![0f32; n as usize];
        dequantize(info.ty, view.bytes, &mut out).expect("valid tensor data");
        let mean = out.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        let var = out
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        eprintln!(
            "  {:<28} {:<5} {:>12} mean {:+.5} std {:.5}",
            info.name,
            info.ty.name(),
            format!("{:?}", info.dims),
            mean,
            var.sqrt()
        );
    }
}
