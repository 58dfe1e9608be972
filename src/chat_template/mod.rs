//! Chat templates: the Jinja template a GGUF carries in `tokenizer.chat_template` (the Hugging
//! Face `chat_template`), rendered with minijinja the way transformers renders it with jinja2:
//! `trim_blocks`, `lstrip_blocks`, loop controls, Python string methods, the globals
//! `raise_exception` and `strftime_now`, `tojson` as Python's `json.dumps`, and `{{ x }}`
//! printing Python's `str(x)`. The context is transformers' too: `messages`, `tools` (none when
//! not given), `documents`, `add_generation_prompt`, `bos_token`, `eos_token`, then the caller's
//! template variables (Qwen3's `enable_thinking`, Llama 3's `date_string` …).

mod pyjson;
mod strftime;

use minijinja::value::Kwargs;
use minijinja::{Environment, ErrorKind, Value};
use std::collections::BTreeMap;

use crate::error::{Error, Result};
pub use pyjson::{dumps, DumpOptions};
pub use strftime::{strftime, CivilTime};

/// The metadata key holding a model's template.
pub const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";

/// A template is code from the file: its rendering is bounded. Fuel counts minijinja's
/// instructions: a loop of 10^9 stops in milliseconds rather than hanging the page, while
/// 1000 short turns with tools through the 9 real templates of tests/fixtures/chat (which need
/// more than 20 000) pass; every input byte adds `FUEL_PER_INPUT_BYTE` so longer
/// conversations are never refused (tests/chat_template.rs).
pub const FUEL: u64 = 200_000;
pub const FUEL_PER_INPUT_BYTE: u64 = 1;
/// Macro and include nesting (minijinja's default is 500, deep enough to exhaust a wasm stack).
pub const RECURSION_LIMIT: usize = 64;
/// The rendered prompt may be at most this plus `OUTPUT_PER_INPUT_BYTE` per input byte: a
/// template repeats the messages a few times at most, and a prompt this long would not fit
/// any context anyway.
pub const OUTPUT_BASE: usize = 1 << 20;
pub const OUTPUT_PER_INPUT_BYTE: usize = 8;

/// Context names the request sets itself, so template variables may not.
const RESERVED: [&str; 4] = ["messages", "tools", "documents", "add_generation_prompt"];

/// What a template is rendered with. Messages are JSON objects with at least a string `role`;
/// everything else (`content` as a string, null or parts, `tool_calls`, `tool_call_id`, `name`,
/// `reasoning_content`) is passed through for the template to use, in the caller's key order.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub messages: Vec<serde_json::Value>,
    /// Tool definitions (OpenAI style `{ type: "function", function: { name, parameters } }`).
    pub tools: Option<Vec<serde_json::Value>>,
    pub add_generation_prompt: bool,
    /// Extra variables; they may override `bos_token` / `eos_token`, as in transformers.
    pub vars: serde_json::Map<String, serde_json::Value>,
}

impl ChatRequest {
    /// A request from `(role, content)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let messages = pairs
            .into_iter()
            .map(|(role, content)| serde_json::json!({ "role": role, "content": content }))
            .collect();
        ChatRequest {
            messages,
            ..Default::default()
        }
    }

    /// Bytes of messages, tools and variables as JSON: what the render bounds scale with.
    fn input_bytes(&self) -> usize {
        let json = |v: &serde_json::Value| v.to_string().len();
        self.messages.iter().map(json).sum::<usize>()
            + self.tools.iter().flatten().map(json).sum::<usize>()
            + self
                .vars
                .iter()
                .map(|(k, v)| k.len() + json(v))
                .sum::<usize>()
    }

    fn validate(&self) -> Result<()> {
        for (i, m) in self.messages.iter().enumerate() {
            if !m.get("role").is_some_and(|r| r.is_string()) {
                return Err(Error::InvalidOption {
                    name: "messages",
                    value: format!("messages[{i}] = {}", truncate(&m.to_string(), 80)),
                    expected: "objects with a string `role` (and usually `content`)",
                });
            }
        }
        if let Some(name) = self.vars.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(Error::InvalidOption {
                name: "templateVars",
                value: name.clone(),
                expected: "names other than messages, tools, documents, add_generation_prompt (they have their own options)",
            });
        }
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Renders `request` with `template`. `bos_token`/`eos_token` are the texts of those tokens,
/// which templates usually print themselves.
pub fn render(
    template: &str,
    request: &ChatRequest,
    bos_token: &str,
    eos_token: &str,
) -> Result<String> {
    request.validate()?;
    let input = request.input_bytes() + bos_token.len() + eos_token.len();
    let mut env = environment();
    env.set_fuel(Some(
        FUEL.saturating_add(FUEL_PER_INPUT_BYTE * input as u64),
    ));
    let tmpl = env.template_from_str(template).map_err(template_error)?;
    let mut ctx: BTreeMap<String, Value> = BTreeMap::new();
    ctx.insert("bos_token".into(), Value::from(bos_token));
    ctx.insert("eos_token".into(), Value::from(eos_token));
    for (k, v) in &request.vars {
        ctx.insert(k.clone(), Value::from_serialize(v));
    }
    ctx.insert("messages".into(), Value::from_serialize(&request.messages));
    ctx.insert(
        "tools".into(),
        request
            .tools
            .as_ref()
            .map(Value::from_serialize)
            .unwrap_or(Value::from(())),
    );
    ctx.insert("documents".into(), Value::from(()));
    ctx.insert(
        "add_generation_prompt".into(),
        Value::from(request.add_generation_prompt),
    );
    let limit = output_limit_for(input);
    let mut out = Limited {
        buf: Vec::new(),
        limit,
    };
    match tmpl.render_captured_to(ctx, &mut out).map(drop) {
        Ok(_) => String::from_utf8(out.buf).map_err(|_| Error::ChatTemplate {
            reason: "the template produced invalid UTF-8".into(),
        }),
        Err(e) if e.kind() == ErrorKind::WriteFailure && out.buf.len() >= limit => {
            Err(Error::ChatTemplate {
                reason: format!("the rendered prompt exceeds {limit} bytes"),
            })
        }
        Err(e) => Err(template_error(e)),
    }
}

/// The most output [`render`] produces for `request` (any more is an error).
pub fn output_limit(request: &ChatRequest) -> usize {
    output_limit_for(request.input_bytes())
}

fn output_limit_for(input: usize) -> usize {
    OUTPUT_BASE.saturating_add(OUTPUT_PER_INPUT_BYTE.saturating_mul(input))
}

/// Collects the output up to `limit` bytes, then refuses (minijinja stops with WriteFailure).
struct Limited {
    buf: Vec<u8>,
    limit: usize,
}

impl std::io::Write for Limited {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(b.len()) > self.limit {
            self.buf.resize(self.limit, 0);
            return Err(std::io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // `.strip()`, `.startswith()`, `.items()` … as templates written for Python expect.
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(|out, _state, value| {
        let mut s = String::new();
        pyjson::python_str(value, &mut s);
        out.write_str(&s)
            .map_err(|_| minijinja::Error::new(ErrorKind::WriteFailure, "output"))
    });
    env.add_filter("tojson", tojson);
    env.add_function(
        "raise_exception",
        |msg: String| -> std::result::Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
        },
    );
    env.add_function("strftime_now", |format: String| {
        strftime(&format, &CivilTime::now())
    });
    env
}

/// transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
fn tojson(value: Value, kwargs: Kwargs) -> std::result::Result<String, minijinja::Error> {
    let invalid =
        |what: &str| minijinja::Error::new(ErrorKind::InvalidOperation, format!("tojson: {what}"));
    let indent = match kwargs.get::<Option<Value>>("indent")? {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => {
            Some(usize::try_from(v).map_err(|_| invalid("indent must be a non-negative integer"))?)
        }
    };
    let separators = match kwargs.get::<Option<Vec<String>>>("separators")? {
        None => None,
        Some(s) if s.len() == 2 => Some((s[0].clone(), s[1].clone())),
        Some(_) => {
            return Err(invalid(
                "separators must be (item_separator, key_separator)",
            ))
        }
    };
    let opts = DumpOptions {
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false),
        indent,
        separators,
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    dumps(&value, &opts)
}

fn template_error(e: minijinja::Error) -> Error {
    // The template's own raise_exception message is what the user needs to see.
    let reason = match e.detail() {
        Some(d) if e.kind() == ErrorKind::InvalidOperation => d.to_string(),
        _ if e.kind() == ErrorKind::OutOfFuel => format!(
            "the template ran too long (more than its {FUEL}-step budget plus \
             {FUEL_PER_INPUT_BYTE} per input byte)"
        ),
        _ => e.to_string(),
    };
    Error::ChatTemplate { reason }
}
