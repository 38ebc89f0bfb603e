//! Semantic theme: panes ask for `theme.status.down`, never `Color::Red`. Shipped
//! themes (`themes/*.yaml`) are embedded with `include_str!`; user themes
//! (`<config dir>/themes/*.yaml`) override or add to them. A theme file may set only
//! some fields: the rest come from the built-in dark theme. Colours are `"#rrggbb"`,
//! ANSI names (`red`, `light-blue`, `reset`…) or indexes `0`–`255`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::domain::hq::FileError;

/// Theme errors carry file, line and column like every other file error.
pub type ThemeError = FileError;

/// Shipped themes, in cycling order.
pub const BUILTIN: [(&str, &str); 4] = [
    ("dark", include_str!("../themes/dark.yaml")),
    ("light", include_str!("../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.yaml"),
    ),
    ("colorblind", include_str!("../themes/colorblind.yaml")),
];

type Sp<T> = serde_saphyr::Spanned<T>;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StatusFile {
    up: Option<Sp<String>>,
    degraded: Option<Sp<String>>,
    down: Option<Sp<String>>,
    maintenance: Option<Sp<String>>,
    unknown: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    fg: Option<Sp<String>>,
    bg: Option<Sp<String>>,
    dim: Option<Sp<String>>,
    accent: Option<Sp<String>>,
    border: Option<Sp<String>>,
    border_focused: Option<Sp<String>>,
    title: Option<Sp<String>>,
    selection_bg: Option<Sp<String>>,
    selection_fg: Option<Sp<String>>,
    ok: Option<Sp<String>>,
    warn: Option<Sp<String>>,
    error: Option<Sp<String>>,
    info: Option<Sp<String>>,
    status: Option<StatusFile>,
    series: Option<Sp<Vec<Sp<String>>>>,
    threshold: Option<Sp<String>>,
    marker: Option<Sp<String>>,
    banner_bg: Option<Sp<String>>,
    banner_fg: Option<Sp<String>>,
}

fn color(path: &Path, field: &str, v: &Sp<String>) -> Result<Color, ThemeError> {
    let at = |m: String| {
        FileError::new(
            path,
            v.referenced.line() as usize,
            v.referenced.column() as usize,
            m,
        )
    };
    let s = v.value.trim();
    if let Some(hex) = s.strip_prefix('#') {
        // ratatui also reads "#rgb"-less forms loosely; insist on exactly #rrggbb.
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(at(format!(
                "{field}: `{s}` is not a colour; expected \"#rrggbb\""
            )));
        }
    }
    Color::from_str(s).map_err(|_| {
        at(format!(
            "{field}: `{s}` is not a colour; expected \"#rrggbb\", a name like `red` or `light-blue`, `reset`, or 0-255"
        ))
    })
}

/// Parse a theme file over `base` (fields the file leaves out keep `base`'s values).
pub fn parse_theme(path: &Path, bytes: &[u8], base: Theme) -> Result<Theme, ThemeError> {
    let f: Option<ThemeFile> = crate::domain::hq::from_yaml(path, bytes)?;
    let f = f.unwrap_or_default();
    let mut t = base;
    if let Some(n) = f.name {
        t.name = n;
    }
    macro_rules! set {
        ($($field:ident),*) => {$(
            if let Some(v) = &f.$field {
                t.$field = color(path, stringify!($field), v)?;
            }
        )*};
    }
    set!(
        fg,
        bg,
        dim,
        accent,
        border,
        border_focused,
        title,
        selection_bg,
        selection_fg,
        ok,
        warn,
        error,
        info,
        threshold,
        marker,
        banner_bg,
        banner_fg
    );
    if let Some(st) = &f.status {
        for (name, v, slot) in [
            ("status.up", &st.up, &mut t.status.up),
            ("status.degraded", &st.degraded, &mut t.status.degraded),
            ("status.down", &st.down, &mut t.status.down),
            (
                "status.maintenance",
                &st.maintenance,
                &mut t.status.maintenance,
            ),
            ("status.unknown", &st.unknown, &mut t.status.unknown),
        ] {
            if let Some(v) = v {
                *slot = color(path, name, v)?;
            }
        }
    }
    if let Some(series) = &f.series {
        if series.value.len() != 4 {
            return Err(FileError::new(
                path,
                series.referenced.line() as usize,
                series.referenced.column() as usize,
                format!(
                    "series has {} colours; expected 4 (phase_diff, entropy_rate, creative_band, risk_band)",
                    series.value.len()
                ),
            ));
        }
        for (i, v) in series.value.iter().enumerate() {
            if let Some(slot) = t.series.get_mut(i) {
                *slot = color(path, &format!("series[{i}]"), v)?;
            }
        }
    }
    Ok(t)
}

fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, y)| *y)
}

/// The user theme directory inside the platform config directory.
pub fn default_user_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lumen").map(|d| d.config_dir().join("themes"))
}

/// True when `NO_COLOR` is set to a non-empty value (no-color.org).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Load theme `name`: a user file `<user_dir>/<name>.yaml` wins over a shipped theme
/// of the same name; either is laid over the built-in dark theme. `NO_COLOR` turns
/// colours off.
pub fn load_theme(name: &str, user_dir: Option<&Path>) -> Result<Theme, ThemeError> {
    let mut t = load_theme_colors(name, user_dir)?;
    if no_color_env() {
        t.color = false;
    }
    Ok(t)
}

/// `load_theme` without looking at `NO_COLOR`.
pub fn load_theme_colors(name: &str, user_dir: Option<&Path>) -> Result<Theme, ThemeError> {
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let base = || {
        let mut d = Theme::dark();
        d.name = name.to_string();
        d
    };
    if valid_name && let Some(dir) = user_dir {
        let path = dir.join(format!("{name}.yaml"));
        match crate::store::fsutil::read_regular(&path) {
            Ok(bytes) => {
                // A user file named like a shipped theme overrides it field by field.
                let over = match builtin(name) {
                    Some(y) => parse_theme(Path::new(name), y.as_bytes(), base())?,
                    None => base(),
                };
                let mut t = parse_theme(&path, &bytes, over)?;
                t.name = name.to_string();
                return Ok(t);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(FileError::new(&path, 0, 0, format!("cannot read: {e}"))),
        }
    }
    match builtin(name) {
        Some(y) => {
            let shipped = PathBuf::from(format!("themes/{name}.yaml"));
            parse_theme(&shipped, y.as_bytes(), base())
        }
        None => Err(FileError::new(
            Path::new(name),
            0,
            0,
            format!(
                "unknown theme `{name}`; expected one of {}",
                theme_names(user_dir).join(", ")
            ),
        )),
    }
}

/// Shipped themes then user themes (`*.yaml` in `user_dir`), without duplicates.
pub fn theme_names(user_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    let mut user = BTreeMap::new();
    if let Some(dir) = user_dir
        && let Ok(rd) = std::fs::read_dir(dir)
    {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yaml")
                && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
            {
                user.insert(stem.to_string(), ());
            }
        }
    }
    for (n, _) in user {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusColors {
    pub up: Color,
    pub degraded: Color,
    pub down: Color,
    pub maintenance: Color,
    pub unknown: Color,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub fg: Color,
    pub bg: Color,
    pub dim: Color,
    pub accent: Color,
    pub border: Color,
    pub border_focused: Color,
    pub title: Color,
    pub selection_bg: Color,
    pub selection_fg: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    pub info: Color,
    pub status: StatusColors,
    /// The four gauges, in `domain::rhythm::GAUGES` order.
    pub series: [Color; 4],
    pub threshold: Color,
    pub marker: Color,
    pub banner_bg: Color,
    pub banner_fg: Color,
    /// When false (NO_COLOR), styles carry no colours: only modifiers.
    pub color: bool,
}

impl Theme {
    pub fn dark() -> Self {
        Theme {
            name: "dark".into(),
            fg: Color::Rgb(0xd8, 0xde, 0xe9),
            bg: Color::Reset,
            dim: Color::Rgb(0x7b, 0x88, 0xa1),
            accent: Color::Rgb(0x88, 0xc0, 0xd0),
            border: Color::Rgb(0x4c, 0x56, 0x6a),
            border_focused: Color::Rgb(0x88, 0xc0, 0xd0),
            title: Color::Rgb(0xec, 0xef, 0xf4),
            selection_bg: Color::Rgb(0x3b, 0x42, 0x52),
            selection_fg: Color::Rgb(0xec, 0xef, 0xf4),
            ok: Color::Rgb(0xa3, 0xbe, 0x8c),
            warn: Color::Rgb(0xeb, 0xcb, 0x8b),
            error: Color::Rgb(0xbf, 0x61, 0x6a),
            info: Color::Rgb(0x81, 0xa1, 0xc1),
            status: StatusColors {
                up: Color::Rgb(0xa3, 0xbe, 0x8c),
                degraded: Color::Rgb(0xeb, 0xcb, 0x8b),
                down: Color::Rgb(0xbf, 0x61, 0x6a),
                maintenance: Color::Rgb(0xb4, 0x8e, 0xad),
                unknown: Color::Rgb(0x7b, 0x88, 0xa1),
            },
            series: [
                Color::Rgb(0x88, 0xc0, 0xd0),
                Color::Rgb(0xb4, 0x8e, 0xad),
                Color::Rgb(0xa3, 0xbe, 0x8c),
                Color::Rgb(0xd0, 0x87, 0x70),
            ],
            threshold: Color::Rgb(0x61, 0x6e, 0x88),
            marker: Color::Rgb(0xeb, 0xcb, 0x8b),
            banner_bg: Color::Rgb(0xbf, 0x61, 0x6a),
            banner_fg: Color::Rgb(0xec, 0xef, 0xf4),
            color: true,
        }
    }

    /// A style in colour `c`, or plain when colours are off.
    pub fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn text(&self) -> Style {
        self.fg(self.fg)
    }

    pub fn dimmed(&self) -> Style {
        if self.color {
            Style::new().fg(self.dim)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn selected(&self) -> Style {
        if self.color {
            Style::new()
                .fg(self.selection_fg)
                .bg(self.selection_bg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::dark()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_dark_equals_compiled_dark() {
        assert_eq!(load_theme_colors("dark", None).unwrap(), Theme::dark());
    }

    #[test]
    fn every_shipped_theme_parses_and_differs() {
        let mut seen = Vec::new();
        for (n, _) in BUILTIN {
            let t = load_theme_colors(n, None).unwrap();
            assert_eq!(t.name, n);
            assert!(
                !seen.contains(&t.status),
                "{n} repeats another theme's status colours"
            );
            seen.push(t.status);
        }
    }

    #[test]
    fn colours_by_name_hex_and_index() {
        let t = parse_theme(
            Path::new("t.yaml"),
            b"fg: red\nbg: '#102030'\ndim: '244'\nwarn: light-blue\n",
            Theme::dark(),
        )
        .unwrap();
        assert_eq!(t.fg, Color::Red);
        assert_eq!(t.bg, Color::Rgb(0x10, 0x20, 0x30));
        assert_eq!(t.dim, Color::Indexed(244));
        assert_eq!(t.warn, Color::LightBlue);
        assert_eq!(t.accent, Theme::dark().accent);
    }
}
