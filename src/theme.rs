//! Semantic theme: panes ask for `theme.status.down`, never `Color::Red`. Shipped
//! themes are embedded; user themes in the config directory override them.
//! (Skeleton: the built-in dark theme; YAML loading lands with the config work.)

use ratatui::style::{Color, Modifier, Style};

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
