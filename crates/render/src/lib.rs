//! Renderers: text, JSON, explain, groups. Decides nothing.
