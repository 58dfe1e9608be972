//! Chat templates rendered by minijinja equal jinja2's renderings in transformers' environment
//! (tests/fixtures/chat/templates.json, made by scripts/fixtures/chat_templates.py): the real
//! templates of the supported families (Qwen2.5, Qwen3, Llama 3.1/3.2, Phi-3.5, Gemma 2,
//! DeepSeek-R1-Distill, SmolLM3, Mistral Nemo) with tool lists, tool calls, reasoning, system
//! messages and template variables. Runs natively and under Node.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use wasm_chord::chat_template::{dumps, render, strftime, ChatRequest, CivilTime, DumpOptions};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[derive(Deserialize)]
struct Fixture {
    bos_token: String,
    eos_token: String,
    templates: BTreeMap<String, String>,
    tools: Vec<Value>,
    conversations: Vec<Vec<Value>>,
    cases: Vec<Case>,
    strftime: Vec<StrftimeCase>,
}

#[derive(Deserialize)]
struct Case {
    template: String,
    conversation: usize,
    add_generation_prompt: bool,
    tools: bool,
    vars: serde_json::Map<String, Value>,
    expected: Option<String>,
    /// jinja2 raised: raise_exception's message, or "" for other errors (str + None …).
    error: Option<String>,
}

#[derive(Deserialize)]
struct StrftimeCase {
    unix: i64,
    format: String,
    expected: String,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/chat/templates.json")).expect("fixture parses")
}

#[test]
fn renders_like_jinja2() {
    let f = fixture();
    let mut failures = Vec::new();
    for c in &f.cases {
        let request = ChatRequest {
            messages: f.conversations[c.conversation].clone(),
            tools: c.tools.then(|| f.tools.clone()),
            add_generation_prompt: c.add_generation_prompt,
            vars: c.vars.clone(),
        };
        let got = render(
            &f.templates[&c.template],
            &request,
            &f.bos_token,
            &f.eos_token,
        );
        let label = format!(
            "{} conv {} agp {} tools {} vars {:?}",
            c.template, c.conversation, c.add_generation_prompt, c.tools, c.vars
        );
        match (&c.expected, &c.error, got) {
            (Some(exp), _, Ok(got)) if &got == exp => {}
            (Some(exp), _, got) => {
                failures.push(format!("{label}\n  jinja2: {exp:?}\n  ours:   {got:?}"))
            }
            (None, Some(msg), Err(e)) => {
                if e.code() != "CHAT_TEMPLATE_ERROR" || !e.to_string().contains(msg.as_str()) {
                    failures.push(format!("{label}: jinja2 raised {msg:?}, we {e}"));
                }
            }
            (None, Some(msg), Ok(got)) => failures.push(format!(
                "{label}: jinja2 raised {msg:?}, we rendered {got:?}"
            )),
            (None, None, _) => panic!("bad fixture case {label}"),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        f.cases.len(),
        failures.join("\n")
    );
    assert!(f.cases.len() >= 200);
    for needed in [
        "qwen3",
        "llama3.2",
        "qwen2.5",
        "phi3.5",
        "gemma2",
        "deepseek-r1-qwen",
    ] {
        assert!(
            f.cases
                .iter()
                .any(|c| c.template == needed && c.expected.is_some()),
            "{needed} rendered"
        );
    }
    assert!(
        f.cases
            .iter()
            .any(|c| c.error.as_deref().is_some_and(|m| !m.is_empty())),
        "covers raise_exception"
    );
}

/// The fixture's cases exercise what they claim to: tools, thinking switch and tool calls
/// change the rendering (a fixture that ignored them would pass vacuously).
#[test]
fn tools_and_variables_reach_the_template() {
    let f = fixture();
    let find = |t: &str, conv: usize, tools: bool, var: Option<&str>| {
        f.cases
            .iter()
            .find(|c| {
                c.template == t
                    && c.conversation == conv
                    && c.tools == tools
                    && var.is_none_or(|v| c.vars.contains_key(v))
            })
            .and_then(|c| c.expected.clone())
            .unwrap_or_else(|| panic!("case {t} {conv} {tools} {var:?}"))
    };
    let with_tools = find("qwen3", 1, true, None);
    assert!(
        with_tools.contains("\"name\": \"get_weather\"")
            && !find("qwen3", 1, false, None).contains("<tools>")
    );
    assert!(find("qwen3", 1, false, Some("enable_thinking")).ends_with("<think>\n\n</think>\n\n"));
    assert!(
        find("llama3.2", 1, true, None).contains("\"enum\": [\n"),
        "tojson(indent=4)"
    );
    assert!(
        find("qwen2.5", 5, false, None).contains("\"threshold\": 1.25"),
        "tool-call arguments via tojson"
    );
}

#[test]
fn strftime_matches_python() {
    let f = fixture();
    assert!(f.strftime.len() >= 30);
    for c in &f.strftime {
        assert_eq!(
            strftime(&c.format, &CivilTime::from_unix_utc(c.unix)),
            c.expected,
            "{} {:?}",
            c.unix,
            c.format
        );
    }
}

#[test]
fn strftime_now_is_today() {
    let request = ChatRequest::from_pairs([("user", "hi")]);
    let got = render("{{ strftime_now('%Y') }}", &request, "", "").unwrap();
    let year: i64 = got.parse().unwrap();
    // Local time (JS) or UTC (native): either way this century, and the same as CivilTime::now.
    assert!((2024..2100).contains(&year), "{got}");
    assert_eq!(year, CivilTime::now().year);
}

#[test]
fn json_dumps_like_python() {
    // Expected strings are CPython 3.11's json.dumps of the same data.
    let v = minijinja::Value::from_serialize(
        serde_json::json!({"b": [1, 2.5, {"x": null}], "a": "é\"\n\u{1}", "t": true, "e": []}),
    );
    assert_eq!(
        dumps(&v, &DumpOptions::default()).unwrap(),
        r#"{"b": [1, 2.5, {"x": null}], "a": "é\"\n\u0001", "t": true, "e": []}"#
    );
    let opts = DumpOptions {
        ensure_ascii: true,
        indent: Some(2),
        sort_keys: true,
        ..Default::default()
    };
    assert_eq!(
        dumps(&v, &opts).unwrap(),
        "{\n  \"a\": \"\\u00e9\\\"\\n\\u0001\",\n  \"b\": [\n    1,\n    2.5,\n    {\n      \"x\": null\n    }\n  ],\n  \"e\": [],\n  \"t\": true\n}"
    );
}

#[test]
fn printing_values_is_python_str() {
    let request = ChatRequest::from_pairs([("user", "hi")]);
    let got = render(
        "{{ none }} {{ true }} {{ [1, 'a', none] }} {{ {'k': false} }} {{ 1.0 }} {{ tools }}",
        &request,
        "",
        "",
    )
    .unwrap();
    assert_eq!(got, "None True [1, 'a', None] {'k': False} 1.0 None");
}

#[test]
fn bad_requests_are_typed() {
    let e = render("{% for m in messages %}", &ChatRequest::default(), "", "").unwrap_err();
    assert_eq!(e.code(), "CHAT_TEMPLATE_ERROR");
    let no_role = ChatRequest {
        messages: vec![serde_json::json!({"content": "x"})],
        ..Default::default()
    };
    let e = render("x", &no_role, "", "").unwrap_err();
    assert_eq!(e.code(), "INVALID_OPTION");
    assert!(e.to_string().contains("messages[0]"), "{e}");
    let mut reserved = ChatRequest::from_pairs([("user", "hi")]);
    reserved.vars.insert("messages".into(), Value::Null);
    let e = render("x", &reserved, "", "").unwrap_err();
    assert_eq!(e.code(), "INVALID_OPTION");
    assert!(e.to_string().contains("messages"), "{e}");
    let e = render(
        "{{ tools | tojson(indnt=2) }}",
        &ChatRequest::default(),
        "",
        "",
    )
    .unwrap_err();
    assert_eq!(e.code(), "CHAT_TEMPLATE_ERROR");
}

// ---- hostile templates: bounded rendering ---------------------------------------------------

fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    return js_sys::Date::now();
    #[cfg(not(target_arch = "wasm32"))]
    return std::time::UNIX_EPOCH.elapsed().unwrap().as_secs_f64() * 1e3;
}

fn render_hostile(template: &str) -> (wasm_chord::Error, f64) {
    let req = ChatRequest::from_pairs([("user", "hi")]);
    let t0 = now_ms();
    let r = render(template, &req, "<s>", "</s>");
    let e = r.expect_err("hostile template must fail");
    (e, now_ms() - t0)
}

#[test]
fn hostile_templates_fail_fast_with_chat_template_error() {
    let cases = [
        ("loop 10^9", "{% for i in range(100000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", "too long"),
        ("nested output", "{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxxxxxxxx{% endfor %}{% endfor %}", ""),
        ("recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion"),
        ("huge repeat", "{{ 'x' * 100000000 }}{{ 'x' * 100000000 }}", "exceeds"),
        ("while-like", "{% for m in messages * 1000000000 %}{{ m.content }}{% endfor %}", ""),
    ];
    for (what, t, needle) in cases {
        let (e, took) = render_hostile(t);
        assert_eq!(e.code(), "CHAT_TEMPLATE_ERROR", "{what}: {e}");
        assert!(e.to_string().contains(needle), "{what}: {e}");
        // Release builds (native, and wasm under Node) stop within tens of ms; the bound
        // leaves room for debug builds and a loaded machine.
        assert!(took < 2_000.0, "{what}: {took} ms");
        println!("{what}: {took:.1} ms: {e}");
    }
}

#[test]
fn long_real_conversations_stay_within_the_bounds() {
    // 400 turns of 2 KB each through every fixture template: the budgets scale with input.
    let long = "word ".repeat(400);
    let mut pairs = Vec::new();
    for i in 0..400 {
        pairs.push((if i % 2 == 0 { "user" } else { "assistant" }, long.as_str()));
    }
    let req = ChatRequest::from_pairs(pairs);
    for (name, template) in fixture().templates {
        let out = render(&template, &req, "<s>", "</s>").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out.len() > 400 * 2000, "{name}");
    }
    // 1000 short turns with the fixture's tools: instructions, not bytes, dominate.
    let f = fixture();
    let mut pairs = Vec::new();
    for i in 0..1000 {
        pairs.push((if i % 2 == 0 { "user" } else { "assistant" }, "ok"));
    }
    let mut req = ChatRequest::from_pairs(pairs);
    req.tools = Some(f.tools.clone());
    for (name, template) in &f.templates {
        if let Err(e) = render(template, &req, "<s>", "</s>") {
            // A template may refuse a conversation shape (raise_exception), never run out.
            assert!(!e.to_string().contains("too long"), "{name}: {e}");
        }
    }
}
