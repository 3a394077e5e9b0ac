//! Line numbers of records, counted from the bytes themselves. The csv crate's `Position::line`
//! is one short after CRLF line endings (what Excel writes; BurntSushi/rust-csv#395), so the
//! reader notes, as bytes pass, where each line with content starts and which line that is; a
//! record's line is the first such start at or after the record's byte offset (a record's offset
//! may point at the `\n` of the CRLF before it, or at blank lines the parser skips).
//!
//! A line break is `\r\n`, `\n` or a lone `\r`. Breaks inside quoted cells count, as an editor
//! counts them. Memory is bounded by the lines read ahead of the parser (one buffer's worth).
use std::collections::VecDeque;

#[derive(Debug)]
pub struct LineStarts {
    /// (byte offset, line) of each line with content read but not yet asked about.
    starts: VecDeque<(u64, u64)>,
    /// Bytes seen so far.
    offset: u64,
    /// The line the next byte is on.
    line: u64,
    /// The last byte seen was a `\r` (a `\n` right after it ends the same break).
    after_cr: bool,
    /// The next byte starts a line.
    at_start: bool,
}

impl Default for LineStarts {
    fn default() -> Self {
        LineStarts { starts: VecDeque::new(), offset: 0, line: 1, after_cr: false, at_start: true }
    }
}

impl LineStarts {
    /// Notes the line starts in the next bytes of the stream.
    pub fn see(&mut self, bytes: &[u8]) {
        let base = self.offset;
        let mut next = 0; // the first byte not yet looked at
        if self.at_start
            && let Some(&first) = bytes.first()
            && first != b'\r'
            && first != b'\n'
        {
            self.starts.push_back((base, self.line));
            self.at_start = false;
        }
        for at in memchr::memchr2_iter(b'\r', b'\n', bytes) {
            if at > next {
                self.after_cr = false; // content between breaks
            }
            if bytes[at] == b'\n' && self.after_cr {
                self.after_cr = false; // the \n of a \r\n: counted with its \r
            } else {
                self.line += 1;
                self.after_cr = bytes[at] == b'\r';
            }
            next = at + 1;
            match bytes.get(next) {
                Some(b'\r' | b'\n') => {}
                Some(_) => self.starts.push_back((base + next as u64, self.line)),
                None => {}
            }
            self.at_start = next == bytes.len();
        }
        if next < bytes.len() {
            self.after_cr = false;
            self.at_start = false;
        }
        self.offset += bytes.len() as u64;
    }

    /// The line of the record whose bytes start at `offset` (offsets only grow from one call to
    /// the next).
    pub fn line_at(&mut self, offset: u64) -> u64 {
        while self.starts.front().is_some_and(|(start, _)| *start < offset) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |(_, line)| *line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The line of each record, computed naively from the whole text: the line of the first byte
    /// of content at or after its offset.
    fn naive(text: &[u8], offset: usize) -> u64 {
        let mut line = 1;
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            if i >= offset && b != b'\r' && b != b'\n' {
                return line;
            }
            if b == b'\n' || (b == b'\r' && text.get(i + 1) != Some(&b'\n')) {
                line += 1;
            }
            i += 1;
        }
        line
    }

    fn records(text: &[u8], chunk: usize) -> Vec<u64> {
        let mut starts = LineStarts::default();
        for piece in text.chunks(chunk.max(1)) {
            starts.see(piece);
        }
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text);
        let mut record = csv::ByteRecord::new();
        let mut lines = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            lines.push(starts.line_at(record.position().unwrap().byte()));
        }
        lines
    }

    #[test]
    fn crlf_lf_blank_lines_and_quoted_breaks() {
        assert_eq!(records(b"h\na\nb\n", 64), [1, 2, 3]);
        assert_eq!(records(b"h\r\na\r\nb\r\n", 64), [1, 2, 3]);
        assert_eq!(records(b"h\r\na\r\nb", 1), [1, 2, 3]);
        assert_eq!(records(b"h\r\n\r\n\r\na\r\nb\r\n", 64), [1, 4, 5]);
        assert_eq!(records(b"h\r\n\"a\r\nstill a\"\r\nb\r\n", 64), [1, 2, 4]);
        assert_eq!(records(b"h\n\"a\n\nstill a\"\nb\n", 3), [1, 2, 5]);
        assert_eq!(records(b"h\ra\rb\r", 2), [1, 2, 3]);
    }

    proptest! {
        #[test]
        fn any_split_gives_the_lines_of_the_whole(
            rows in prop::collection::vec(prop::sample::select(vec!["a,b", "\"x\r\ny\",z", "\"p\nq\",r", "", "c"]), 1..20),
            breaks in prop::collection::vec(prop::sample::select(vec!["\n", "\r\n"]), 20),
            chunk in 1usize..12,
        ) {
            let mut text = Vec::new();
            for (row, end) in rows.iter().zip(&breaks) {
                text.extend_from_slice(row.as_bytes());
                text.extend_from_slice(end.as_bytes());
            }
            let mut starts = LineStarts::default();
            for piece in text.chunks(chunk) {
                starts.see(piece);
            }
            let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&text[..]);
            let mut record = csv::ByteRecord::new();
            while reader.read_byte_record(&mut record).unwrap() {
                let offset = record.position().unwrap().byte();
                prop_assert_eq!(starts.line_at(offset), naive(&text, offset as usize));
            }
        }
    }
}
