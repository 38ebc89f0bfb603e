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
            bg: Color::Rgb(0x1d, 0x21, 0x28),
            dim: Color::Rgb(0x8f, 0x9b, 0xb3),
            accent: Color::Rgb(0x88, 0xc0, 0xd0),
            border: Color::Rgb(0x61, 0x6e, 0x88),
            border_focused: Color::Rgb(0x88, 0xc0, 0xd0),
            title: Color::Rgb(0xec, 0xef, 0xf4),
            selection_bg: Color::Rgb(0x2e, 0x34, 0x40),
            selection_fg: Color::Rgb(0xec, 0xef, 0xf4),
            ok: Color::Rgb(0xa3, 0xbe, 0x8c),
            warn: Color::Rgb(0xeb, 0xcb, 0x8b),
            error: Color::Rgb(0xe0, 0x82, 0x8a),
            info: Color::Rgb(0x81, 0xa1, 0xc1),
            status: StatusColors {
                up: Color::Rgb(0xa3, 0xbe, 0x8c),
                degraded: Color::Rgb(0xeb, 0xcb, 0x8b),
                down: Color::Rgb(0xe0, 0x82, 0x8a),
                maintenance: Color::Rgb(0xbc, 0x97, 0xb5),
                unknown: Color::Rgb(0x96, 0xa0, 0xb5),
            },
            series: [
                Color::Rgb(0x88, 0xc0, 0xd0),
                Color::Rgb(0xb4, 0x8e, 0xad),
                Color::Rgb(0xa3, 0xbe, 0x8c),
                Color::Rgb(0xd0, 0x87, 0x70),
            ],
            threshold: Color::Rgb(0x8f, 0x9b, 0xb3),
            marker: Color::Rgb(0xeb, 0xcb, 0x8b),
            banner_bg: Color::Rgb(0xd0, 0x87, 0x70),
            banner_fg: Color::Rgb(0x1d, 0x21, 0x28),
            color: true,
        }
    }

    /// The theme's own text on its own background: painted over the whole frame
    /// first, and over every popup after it is cleared, so the theme never depends
    /// on the terminal's background. Plain when colours are off (or `bg: reset`).
    pub fn base(&self) -> Style {
        if self.color {
            Style::new().fg(self.fg).bg(self.bg)
        } else {
            Style::new()
        }
    }

    /// Every colour drawn as text, by its key in the theme file.
    pub fn text_colors(&self) -> Vec<(String, Color)> {
        let mut v: Vec<(String, Color)> = [
            ("fg", self.fg),
            ("dim", self.dim),
            ("accent", self.accent),
            ("title", self.title),
            ("border_focused", self.border_focused),
            ("ok", self.ok),
            ("warn", self.warn),
            ("error", self.error),
            ("info", self.info),
            ("threshold", self.threshold),
            ("marker", self.marker),
            ("status.up", self.status.up),
            ("status.degraded", self.status.degraded),
            ("status.down", self.status.down),
            ("status.maintenance", self.status.maintenance),
            ("status.unknown", self.status.unknown),
        ]
        .into_iter()
        .map(|(k, c)| (k.to_string(), c))
        .collect();
        for (i, c) in self.series.iter().enumerate() {
            v.push((format!("series[{i}]"), *c));
        }
        v
    }

    /// Every (text key, background key, text, background) pair the console draws,
    /// with the minimum contrast ratio it must meet: text on `bg` (4.5:1, WCAG AA),
    /// the selection, the banners (kill switch on `banner_bg`, ledger alarm on
    /// `error`), the status colours on a selected row (all 4.5:1), and `border` on
    /// `bg` (3:1, WCAG's minimum for non-text UI parts).
    pub fn contrast_pairs(&self) -> Vec<ContrastPair> {
        let mut v = Vec::new();
        let mut push = |fg_key: String, fg: Color, bg_key: &str, bg: Color, min: f64| {
            v.push(ContrastPair {
                fg_key,
                fg,
                bg_key: bg_key.to_string(),
                bg,
                min,
            });
        };
        for (k, c) in self.text_colors() {
            push(k, c, "bg", self.bg, AA_TEXT);
        }
        push(
            "selection_fg".into(),
            self.selection_fg,
            "selection_bg",
            self.selection_bg,
            AA_TEXT,
        );
        for (k, c) in [
            ("status.up", self.status.up),
            ("status.degraded", self.status.degraded),
            ("status.down", self.status.down),
            ("status.maintenance", self.status.maintenance),
            ("status.unknown", self.status.unknown),
        ] {
            push(k.into(), c, "selection_bg", self.selection_bg, AA_TEXT);
        }
        push(
            "banner_fg".into(),
            self.banner_fg,
            "banner_bg",
            self.banner_bg,
            AA_TEXT,
        );
        push(
            "banner_fg".into(),
            self.banner_fg,
            "error",
            self.error,
            AA_TEXT,
        );
        push("border".into(), self.border, "bg", self.bg, AA_NON_TEXT);
        v
    }

    /// The pairs that miss their minimum; a pair whose colours cannot be known
    /// (`reset`) is reported with `ratio: None`.
    pub fn contrast_problems(&self) -> Vec<(ContrastPair, Option<f64>)> {
        self.contrast_pairs()
            .into_iter()
            .filter_map(|p| match contrast_ratio(p.fg, p.bg) {
                Some(r) if r >= p.min => None,
                r => Some((p, r)),
            })
            .collect()
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

/// WCAG AA minimum for normal text.
pub const AA_TEXT: f64 = 4.5;
/// WCAG minimum for non-text UI components (borders).
pub const AA_NON_TEXT: f64 = 3.0;

/// A foreground drawn on a background, and the contrast it must reach.
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastPair {
    pub fg_key: String,
    pub fg: Color,
    pub bg_key: String,
    pub bg: Color,
    pub min: f64,
}

/// The 16 ANSI colours as xterm draws them by default. A terminal may be set to
/// other values, which is why shipped themes use `#rrggbb` only.
const ANSI16: [(u8, u8, u8); 16] = [
    (0x00, 0x00, 0x00),
    (0xcd, 0x00, 0x00),
    (0x00, 0xcd, 0x00),
    (0xcd, 0xcd, 0x00),
    (0x00, 0x00, 0xee),
    (0xcd, 0x00, 0xcd),
    (0x00, 0xcd, 0xcd),
    (0xe5, 0xe5, 0xe5),
    (0x7f, 0x7f, 0x7f),
    (0xff, 0x00, 0x00),
    (0x00, 0xff, 0x00),
    (0xff, 0xff, 0x00),
    (0x5c, 0x5c, 0xff),
    (0xff, 0x00, 0xff),
    (0x00, 0xff, 0xff),
    (0xff, 0xff, 0xff),
];

/// The RGB a colour is drawn in: exact for `#rrggbb`, xterm's defaults for ANSI
/// names and indexes 0–255; `None` for `reset` (the terminal's own colour).
pub fn rgb(c: Color) -> Option<(u8, u8, u8)> {
    let ansi = |i: usize| ANSI16.get(i).copied();
    match c {
        Color::Reset => None,
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Black => ansi(0),
        Color::Red => ansi(1),
        Color::Green => ansi(2),
        Color::Yellow => ansi(3),
        Color::Blue => ansi(4),
        Color::Magenta => ansi(5),
        Color::Cyan => ansi(6),
        Color::Gray => ansi(7),
        Color::DarkGray => ansi(8),
        Color::LightRed => ansi(9),
        Color::LightGreen => ansi(10),
        Color::LightYellow => ansi(11),
        Color::LightBlue => ansi(12),
        Color::LightMagenta => ansi(13),
        Color::LightCyan => ansi(14),
        Color::White => ansi(15),
        Color::Indexed(i) if i < 16 => ansi(usize::from(i)),
        Color::Indexed(i) if i < 232 => {
            // The 6×6×6 cube: 0, 95, 135, 175, 215, 255.
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let i = i - 16;
            Some((level(i / 36), level(i / 6 % 6), level(i % 6)))
        }
        Color::Indexed(i) => {
            let v = 8 + 10 * (i - 232);
            Some((v, v, v))
        }
    }
}

/// WCAG 2 relative luminance of an sRGB colour.
pub fn relative_luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let lin = |v: u8| {
        let c = f64::from(v) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// WCAG 2 contrast ratio (1 to 21) of two colours; `None` when either is `reset`.
pub fn contrast_ratio(a: Color, b: Color) -> Option<f64> {
    let la = relative_luminance(rgb(a)?);
    let lb = relative_luminance(rgb(b)?);
    let (hi, lo) = if la >= lb { (la, lb) } else { (lb, la) };
    Some((hi + 0.05) / (lo + 0.05))
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
