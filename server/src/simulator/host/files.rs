//! The shell builtins that write and remove files on the simulated host: `umask`, `printf`
//! (to a redirection, as the runner writes SGLang's key file) and `rm`.

use super::{Io, SimHost};

impl SimHost {
    /// `umask MODE` (accepted, as files are only the simulator's), `printf FORMAT ARGS...`
    /// (`%s`, `%%`, `\n`, `\t`, `\\`) and `rm [-f] FILES...`.
    pub(super) async fn file_builtin(&self, program: &str, args: &[&str], io: &Io<'_>) -> i32 {
        match program {
            "printf" => {
                let Some((format, values)) = args.split_first() else {
                    io.err("printf: usage: printf format [arguments]\n").await;
                    return 2;
                };
                io.out(&printf(format, values)).await;
                0
            }
            "rm" => {
                let force = args.iter().any(|a| a.starts_with('-') && a.contains('f'));
                let mut status = 0;
                for path in args.iter().filter(|a| !a.starts_with('-')) {
                    if self.lock().files.remove(*path).is_none() && !force {
                        io.err(&format!(
                            "rm: cannot remove '{path}': No such file or directory\n"
                        ))
                        .await;
                        status = 1;
                    }
                }
                status
            }
            _ => 0,
        }
    }

    /// The text of a file written on the host, if there is one at `path`.
    pub(super) fn file(&self, path: &str) -> Option<String> {
        self.lock().files.get(path).cloned()
    }
}

/// What `printf FORMAT VALUES...` prints (values beyond the format's `%s` are ignored).
fn printf(format: &str, values: &[&str]) -> String {
    let mut out = String::new();
    let mut values = values.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('%', Some('s')) => out.push_str(values.next().unwrap_or(&"")),
            ('%', Some('%')) => out.push('%'),
            ('\\', Some('n')) => out.push('\n'),
            ('\\', Some('t')) => out.push('\t'),
            ('\\', Some('\\')) => out.push('\\'),
            (c, _) => {
                out.push(c);
                continue;
            }
        }
        chars.next();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn printf_fills_its_format() {
        assert_eq!(
            super::printf(r#"api-key: "%s"\n%%"#, &["k"]),
            "api-key: \"k\"\n%"
        );
    }
}
