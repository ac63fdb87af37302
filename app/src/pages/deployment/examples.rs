//! The copyable examples on a deployment's page: curl, and the OpenAI Python client. The
//! key is the placeholder `$GDL_KEY` (an environment variable the person sets), but right
//! after the key was made, when its secret is known to this page once.

/// The key as the examples spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    /// The secret, shown this once.
    Secret(&'a str),
    /// `$GDL_KEY` (read from the environment).
    Placeholder,
}

/// A chat completion with curl against `base` (the absolute `/serve/{id}/v1` URL).
pub fn curl(base: &str, model: &str, key: Key<'_>) -> String {
    let bearer = match key {
        Key::Secret(s) => s.to_owned(),
        Key::Placeholder => "$GDL_KEY".to_owned(),
    };
    format!(
        "curl {base}/chat/completions \\\n  -H \"Authorization: Bearer {bearer}\" \\\n  \
         -H \"Content-Type: application/json\" \\\n  \
         -d '{{\"model\": \"{model}\", \"max_tokens\": 64, \"messages\": [{{\"role\": \"user\", \"content\": \"Say hello\"}}]}}'"
    )
}

/// The same with the OpenAI Python client (`pip install openai`), streamed.
pub fn python(base: &str, model: &str, key: Key<'_>) -> String {
    let (import, api_key) = match key {
        Key::Secret(s) => ("", format!("\"{s}\"")),
        Key::Placeholder => ("import os\n", "os.environ[\"GDL_KEY\"]".to_owned()),
    };
    format!(
        "{import}from openai import OpenAI\n\n\
         client = OpenAI(base_url=\"{base}\", api_key={api_key})\n\
         stream = client.chat.completions.create(\n    model=\"{model}\",\n    \
         messages=[{{\"role\": \"user\", \"content\": \"Say hello\"}}],\n    stream=True,\n)\n\
         for chunk in stream:\n    if chunk.choices:\n        print(chunk.choices[0].delta.content or \"\", end=\"\")\nprint()"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:8081/serve/dep-1/v1";

    #[test]
    fn curl_posts_a_chat_to_the_endpoint_with_the_key() {
        let placeholder = curl(BASE, "qwen", Key::Placeholder);
        assert!(placeholder.starts_with(&format!("curl {BASE}/chat/completions")));
        assert!(placeholder.contains("Bearer $GDL_KEY\""));
        assert!(placeholder.contains("\"model\": \"qwen\""));
        let fresh = curl(BASE, "qwen", Key::Secret("gdk-abc"));
        assert!(fresh.contains("Bearer gdk-abc\""));
        assert!(!fresh.contains("GDL_KEY"));
    }

    #[test]
    fn python_reads_the_key_from_the_environment_unless_it_is_fresh() {
        let placeholder = python(BASE, "qwen", Key::Placeholder);
        assert!(placeholder.starts_with("import os\nfrom openai import OpenAI"));
        assert!(placeholder.contains(&format!(
            "OpenAI(base_url=\"{BASE}\", api_key=os.environ[\"GDL_KEY\"])"
        )));
        let fresh = python(BASE, "qwen", Key::Secret("gdk-abc"));
        assert!(fresh.starts_with("from openai import OpenAI"));
        assert!(fresh.contains("api_key=\"gdk-abc\""));
        assert!(fresh.contains("model=\"qwen\""));
    }
}
