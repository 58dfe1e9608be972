//! Stop strings, matched on the generated *text* (a stop string can span tokens, and a token
//! can hold the end of one plus more text).
//!
//! While streaming, text that could be the beginning of a stop string is held back until the
//! next pieces show whether it is (then it is never emitted) or not (then it is released).

/// Streaming stop-string matcher.
#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    /// Text received but not yet released.
    pending: String,
    stopped: Option<usize>,
}

/// What one [`StopMatcher::push`] decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopStep {
    /// Text that is now safe to show (never part of a stop string).
    pub released: String,
    /// Index (in the list given to `new`) of the stop string found, if one completed.
    pub stop: Option<usize>,
}

impl StopMatcher {
    /// Empty strings in `stops` are ignored (they would match everywhere).
    pub fn new(stops: &[String]) -> StopMatcher {
        StopMatcher {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            pending: String::new(),
            stopped: None,
        }
    }

    /// The stop string that matched, if any.
    pub fn matched(&self) -> Option<&str> {
        self.stopped
            .and_then(|i| self.stops.get(i))
            .map(String::as_str)
    }

    /// Adds text. When a stop string completes, the text before it is released, it and
    /// everything after are dropped, and every later push releases nothing.
    pub fn push(&mut self, text: &str) -> StopStep {
        if self.stopped.is_some() {
            return StopStep::default();
        }
        self.pending.push_str(text);
        // The earliest occurrence of any stop string (ties: the longer one, as it was listed
        // to be matched whole).
        let mut best: Option<(usize, usize)> = None;
        for (i, s) in self.stops.iter().enumerate() {
            if let Some(at) = self.pending.find(s.as_str()) {
                let better = match best {
                    None => true,
                    Some((b_at, b_i)) => {
                        at < b_at || (at == b_at && s.len() > self.stops[b_i].len())
                    }
                };
                if better {
                    best = Some((at, i));
                }
            }
        }
        if let Some((at, i)) = best {
            self.stopped = Some(i);
            let released = self.pending[..at].to_owned();
            self.pending.clear();
            return StopStep {
                released,
                stop: Some(i),
            };
        }
        let hold = self.held_suffix_len();
        let cut = self.pending.len() - hold;
        let released = self.pending[..cut].to_owned();
        self.pending.drain(..cut);
        StopStep {
            released,
            stop: None,
        }
    }

    /// The generation ended without a stop string: releases what was held back.
    pub fn finish(&mut self) -> String {
        core::mem::take(&mut self.pending)
    }

    /// Length of the longest suffix of `pending` that is a proper prefix of a stop string.
    fn held_suffix_len(&self) -> usize {
        let p = self.pending.as_str();
        let mut hold = 0;
        for s in &self.stops {
            // Proper prefixes only: a whole match was handled by the caller.
            let max = (s.len() - 1).min(p.len());
            for len in (hold + 1..=max).rev() {
                if s.is_char_boundary(len) && p.ends_with(&s[..len]) {
                    hold = len;
                    break;
                }
            }
        }
        hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stops(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn holds_back_a_possible_start_and_releases_it_when_it_is_not() {
        let mut m = StopMatcher::new(&stops(&["\n\n"]));
        assert_eq!(m.push("Hello").released, "Hello");
        assert_eq!(m.push(" world\n").released, " world");
        let s = m.push("more");
        assert_eq!((s.released.as_str(), s.stop), ("\nmore", None));
        assert_eq!(m.finish(), "");
    }

    #[test]
    fn stop_split_across_pieces() {
        let mut m = StopMatcher::new(&stops(&["END"]));
        assert_eq!(m.push("abc E").released, "abc ");
        assert_eq!(m.push("N").released, "");
        let s = m.push("Dxyz");
        assert_eq!(
            s,
            StopStep {
                released: String::new(),
                stop: Some(0)
            }
        );
        assert_eq!(m.matched(), Some("END"));
        assert_eq!(m.push("later").released, "");
    }

    #[test]
    fn earliest_stop_wins_and_text_before_it_is_released() {
        let mut m = StopMatcher::new(&stops(&["cd", "b"]));
        let s = m.push("abcd");
        assert_eq!(s.released, "a");
        assert_eq!(s.stop, Some(1));
    }

    #[test]
    fn multibyte_prefixes() {
        let mut m = StopMatcher::new(&stops(&["é!"]));
        assert_eq!(m.push("café").released, "caf");
        assert_eq!(m.push("?").released, "é?");
        assert_eq!(m.finish(), "");
    }

    #[test]
    fn finish_releases_held_text() {
        let mut m = StopMatcher::new(&stops(&["###"]));
        assert_eq!(m.push("x##").released, "x");
        assert_eq!(m.finish(), "##");
    }
}
