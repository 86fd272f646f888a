pub mod num;
pub mod table;

/// Removes from `buf` every character that must not reach a terminal as it is
/// ([`cutover_core::schema::unsafe_char`]: controls, bidirectional overrides and isolates), leaving a
/// cell that held nothing else blank. ratatui already drops control characters; the
/// bidirectional ones are zero-width "format" characters it keeps, and a terminal would let
/// them reorder the text around them.
pub fn scrub(buf: &mut ratatui::buffer::Buffer) {
    for cell in buf.content.iter_mut() {
        if cell.symbol().chars().any(cutover_core::schema::unsafe_char) {
            let kept: String = cell
                .symbol()
                .chars()
                .filter(|c| !cutover_core::schema::unsafe_char(*c))
                .collect();
            cell.set_symbol(if kept.is_empty() { " " } else { &kept });
        }
    }
}
