//! Chat templates: the Jinja template a GGUF carries in `tokenizer.chat_template` (the Hugging
//! Face `chat_template`), rendered with minijinja the way transformers renders it with jinja2
//! (`trim_blocks`, `lstrip_blocks`, `raise_exception`, Python string methods).

use minijinja::{Environment, ErrorKind, Value};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The metadata key holding a model's template.
pub const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// Renders `messages` with `template`. `bos_token`/`eos_token` are the texts of those tokens,
/// which templates usually print themselves.
pub fn render(
    template: &str,
    messages: &[ChatMessage],
    add_generation_prompt: bool,
    bos_token: &str,
    eos_token: &str,
) -> Result<String> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // `.strip()`, `.startswith()`, `.items()` … as templates written for Python expect.
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function(
        "raise_exception",
        |msg: String| -> std::result::Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
        },
    );
    let tmpl = env.template_from_str(template).map_err(template_error)?;
    tmpl.render(minijinja::context! {
        messages => messages,
        add_generation_prompt => add_generation_prompt,
        bos_token => bos_token,
        eos_token => eos_token,
    })
    .map_err(template_error)
}

fn template_error(e: minijinja::Error) -> Error {
    // The template's own raise_exception message is what the user needs to see.
    let reason = match e.detail() {
        Some(d) if e.kind() == ErrorKind::InvalidOperation => d.to_string(),
        _ => e.to_string(),
    };
    Error::ChatTemplate { reason }
}
