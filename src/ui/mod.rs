//! Drawing: a pure function of `App` and `Theme`. No I/O here.
