//! A client's value can hold the format's own separators, so a line is split every way at once,
//! in time linear in its length, and a token counts only where every split agrees.

use crate::detect::access_log::vars::{Class, Var};

/// Where the splits of a line put a span of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Inside error variable `var` in every split.
    Error { var: usize },
    /// In no error variable in any split.
    Elsewhere,
    /// In an error variable in some splits and not in others: a client value may have moved it.
    Ambiguous,
}

/// The outcome of [`LogFormat::split`].
///
/// [`LogFormat::split`]: super::LogFormat::split
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// The line does not follow the format.
    NoMatch,
    /// The line follows the format. One split's value ends are in the scratch space (read them
    /// with [`Scratch::value`]); `places` has one entry per span asked about.
    Parsed { places: Vec<Place> },
}

/// Buffers for splitting, reused across the lines of a batch.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// State sets after each byte: reachable from the start, then narrowed to those that also
    /// reach the end. A one-word split leaves out the bytes of [`Scratch::singles`].
    sets: Vec<u64>,
    /// Per variable: where its value starts and ends in the chosen split.
    pub(super) bounds: Vec<(usize, usize)>,
    /// The runs of bytes outside every literal that the forward pass read in one step.
    runs: Vec<Run>,
    /// The stretches where one state alone was live, found with one search; their sets are not
    /// written to `sets`.
    singles: Vec<Single>,
}

/// Bytes `from..to` of a line, read by state set `set` (one state) that none of them changes: the
/// set after each of them is that one state.
#[derive(Clone, Copy, Debug)]
struct Single {
    from: usize,
    to: usize,
    set: u64,
    /// The bytes of this stretch and those before it, whose sets `Scratch::sets` leaves out.
    skipped: usize,
}

/// The bytes that change a set of one state: searched for with `memchr` when there are few, else
/// read from a table a byte at a time.
#[derive(Clone, Debug)]
enum Stops {
    /// No byte does: the state reads the rest of the line.
    None,
    One(u8),
    Two(u8, u8),
    Three(u8, u8, u8),
    Table(Box<[bool; 256]>),
}

impl Stops {
    fn of(bytes: &[u8]) -> Self {
        match *bytes {
            [] => Stops::None,
            [a] => Stops::One(a),
            [a, b] => Stops::Two(a, b),
            [a, b, c] => Stops::Three(a, b, c),
            _ => {
                let mut table = Box::new([false; 256]);
                for &b in bytes {
                    table[b as usize] = true;
                }
                Stops::Table(table)
            }
        }
    }

    fn find(&self, hay: &[u8]) -> Option<usize> {
        match self {
            Stops::None => None,
            Stops::One(a) => memchr::memchr(*a, hay),
            Stops::Two(a, b) => memchr::memchr2(*a, *b, hay),
            Stops::Three(a, b, c) => memchr::memchr3(*a, *b, *c, hay),
            Stops::Table(table) => hay.iter().position(|&b| table[b as usize]),
        }
    }
}

/// Bytes `start..end` of a line, none of them in a literal of the format, after a byte that began
/// the run: the same states are reachable after each of them.
#[derive(Clone, Copy, Debug)]
struct Run {
    start: usize,
    end: usize,
    /// The classes (bits of [`CLASS_BITS`]) that refuse some byte of the run.
    refused: usize,
    /// Whether the backward pass read the run in one step too, so the live states are the same
    /// after each of its bytes.
    narrow: bool,
}

impl Scratch {
    /// Variable `i`'s value in the split last made.
    pub fn value<'l>(&self, line: &'l str, i: usize) -> &'l str {
        let (start, end) = self.bounds[i];
        line.get(start..end).unwrap_or_default()
    }

    /// Where variable `i`'s value starts and ends in the split last made.
    pub fn bounds(&self, i: usize) -> (usize, usize) {
        self.bounds[i]
    }
}

/// The format as a position automaton: one state per literal byte and per variable, in order,
/// after a start state. Entering a state consumes one byte the state allows; a variable's state
/// also loops on the bytes of its class. State sets are bit sets of `words` 64-bit words, so a
/// step over one byte is a few word operations (the shift-and method).
#[derive(Clone, Debug)]
pub(super) struct Automaton {
    pub(super) words: usize,
    /// Per byte value: the states that may consume it (`256 * words`).
    masks: Vec<u64>,
    /// Variable states.
    loops: Vec<u64>,
    /// States of client text: values that may be empty, and that are taken as long as possible
    /// when one split is chosen for the fields.
    empties: Vec<u64>,
    /// Error-variable states.
    errors: Vec<u64>,
    /// Per state: the variable it reads, if any.
    state_var: Vec<Option<usize>>,
    /// The last state, where a whole line must end.
    last: usize,
    vars: usize,
    /// The format's text around its variables, one more than there are variables.
    pub(super) literals: Vec<String>,
    /// Per byte value: [`IN_LITERAL`] when some literal of the format holds it, and one bit per
    /// class of [`CLASS_BITS`] that refuses it.
    kinds: [u8; 256],
    /// Per set of refusing classes (the kinds above shifted right once): the variable states
    /// whose class allows every byte of a run with those kinds.
    survive: [u64; 1 << CLASS_BITS.len()],
    /// Whether runs of bytes outside every literal can be read in one step: true for formats of
    /// one word whose variables are all separated by literal text (see [`Automaton::split`]).
    runs: bool,
    /// Per state of a one-word format that reads a variable: the bytes that change the set
    /// holding only that state.
    stops: Vec<Option<Stops>>,
    /// The states of `stops` that have them.
    skippable: u64,
    /// A literal byte and its state (as a bit) that no later state reads: every split reads the
    /// line's last such byte there, so only that state is live after it. The latest such state.
    cut: Option<(u8, u64)>,
}

/// One forward step of a one-word state set `d` over a byte whose states are `mask`: each state
/// steps to the next or loops in its variable, then values that may be empty are stepped over.
/// The stopping bytes of [`Stops`] are read off this same step.
#[inline(always)]
fn step_word(d: u64, mask: u64, loops: u64, empties: u64) -> u64 {
    let x = ((d << 1) | (d & loops)) & mask;
    x | ((x << 1) & empties)
}

/// In [`Automaton::kinds`]: the byte occurs in the format's literal text.
const IN_LITERAL: u8 = 1;

/// The classes that refuse some byte, each a bit of [`Automaton::kinds`] from bit 1 on.
const CLASS_BITS: [Class; 5] = [
    Class::Number,
    Class::Time,
    Class::Method,
    Class::Token,
    Class::ErrorText,
];

impl Automaton {
    /// The automaton of a format whose variables' values hold the bytes `class_of` says.
    pub(super) fn new(vars: &[Var], literals: &[String], class_of: impl Fn(&Var) -> Class) -> Self {
        // State 0 is the start; states 1.. are the elements in order.
        let mut elements: Vec<(Option<usize>, Class, u8)> = Vec::new();
        let literal = |elements: &mut Vec<(Option<usize>, Class, u8)>, text: &str| {
            for &b in text.as_bytes() {
                elements.push((None, Class::Any, b));
            }
        };
        literal(&mut elements, &literals[0]);
        for (i, var) in vars.iter().enumerate() {
            let class = class_of(var);
            if class == Class::Quoted {
                // `"message"`: the quotes are literal bytes around a value of error text.
                literal(&mut elements, "\"");
                elements.push((Some(i), Class::ErrorText, 0));
                literal(&mut elements, "\"");
            } else {
                elements.push((Some(i), class, 0));
            }
            literal(&mut elements, &literals[i + 1]);
        }
        let states = elements.len() + 1;
        let words = states.div_ceil(64);
        let mut kinds = [0u8; 256];
        for (c, kind) in kinds.iter_mut().enumerate() {
            let c = c as u8;
            if elements
                .iter()
                .any(|&(var, _, byte)| var.is_none() && byte == c)
            {
                *kind |= IN_LITERAL;
            }
            for (k, class) in CLASS_BITS.iter().enumerate() {
                if !class.allows(c) {
                    *kind |= 2 << k;
                }
            }
        }
        let mut survive = [0u64; 1 << CLASS_BITS.len()];
        let adjacent = elements
            .windows(2)
            .any(|w| w[0].0.is_some() && w[1].0.is_some());
        if words == 1 {
            for (refused, mask) in survive.iter_mut().enumerate() {
                for (e, &(var, class, _)) in elements.iter().enumerate() {
                    let allowed = CLASS_BITS
                        .iter()
                        .enumerate()
                        .all(|(k, c)| refused & (1 << k) == 0 || *c != class);
                    if var.is_some() && allowed {
                        *mask |= 1 << (e + 1);
                    }
                }
            }
        }
        let mut masks = vec![0u64; 256 * words];
        let mut loops = vec![0u64; words];
        let mut empties = vec![0u64; words];
        let mut errors = vec![0u64; words];
        let mut state_var = vec![None; states];
        for (e, &(var, class, byte)) in elements.iter().enumerate() {
            let s = e + 1;
            let (w, bit) = (s / 64, 1u64 << (s % 64));
            match var {
                Some(v) => {
                    loops[w] |= bit;
                    if vars[v].is_error() {
                        errors[w] |= bit;
                    }
                    state_var[s] = Some(v);
                    if class.is_any() {
                        empties[w] |= bit;
                    }
                    for c in 0..=255u8 {
                        if class.allows(c) {
                            masks[c as usize * words + w] |= bit;
                        }
                    }
                }
                None => masks[byte as usize * words + w] |= bit,
            }
        }
        let (mut stops, mut skippable, mut cut) = (Vec::new(), 0, None);
        if words == 1 {
            let step = |d: u64, b: u8| step_word(d, masks[b as usize], loops[0], empties[0]);
            for s in 0..states {
                let bit = 1u64 << s;
                let changing: Vec<u8> = (0..=255u8).filter(|&b| step(bit, b) != bit).collect();
                let found = (loops[0] & bit != 0).then(|| Stops::of(&changing));
                if found.is_some() {
                    skippable |= bit;
                }
                stops.push(found);
            }
            for (e, &(var, _, byte)) in elements.iter().enumerate() {
                let s = e + 1;
                let later = masks[byte as usize].checked_shr(s as u32 + 1).unwrap_or(0);
                if var.is_none() && later == 0 {
                    cut = Some((byte, 1u64 << s));
                }
            }
        }
        Automaton {
            words,
            masks,
            loops,
            empties,
            errors,
            state_var,
            last: states - 1,
            vars: vars.len(),
            literals: literals.to_vec(),
            kinds,
            survive,
            runs: words == 1 && !adjacent,
            stops,
            skippable,
            cut,
        }
    }

    fn has(set: &[u64], s: usize) -> bool {
        set[s / 64] & (1 << (s % 64)) != 0
    }

    /// Adds the states reached by an empty value: a client value may be empty, so the state
    /// before it also stands for having read it. Values are separated by literals, so one step
    /// closes the set.
    fn close_forwards(&self, set: &mut [u64]) {
        let mut carry = 0;
        for (d, e) in set.iter_mut().zip(&self.empties) {
            let was = *d;
            *d |= ((was << 1) | carry) & e;
            carry = was >> 63;
        }
    }

    /// The same closure read backwards: a state can finish if the empty value after it can.
    fn close_backwards(&self, set: &mut [u64]) {
        let mut carry = 0;
        for i in (0..self.words).rev() {
            let e = set[i] & self.empties[i];
            set[i] |= (e >> 1) | carry;
            carry = e << 63;
        }
    }

    /// The same as [`Automaton::split_words`] for formats of at most 64 states (every format in
    /// use): each state set is one word, so a step is a handful of instructions with no loop.
    pub(super) fn split(
        &self,
        line: &[u8],
        spans: &[(usize, usize)],
        scratch: &mut Scratch,
    ) -> Split {
        if self.words > 1 {
            return self.split_words(line, spans, scratch);
        }
        self.split_word(line, spans, scratch, true)
    }

    /// Splits with one-word state sets. With `fast` set it takes three shortcuts, each of which
    /// leaves every narrowed set as the byte-by-byte passes leave it (the property tests in
    /// `tests/paths.rs` hold all of them to the byte-by-byte path and the general one):
    ///
    /// - **Runs.** A byte no literal holds can only be read by a variable, and when variables are
    ///   separated by literals a variable reading it stays where it is. So after a run's first
    ///   byte the set can only lose the variables whose class refuses a later byte of the run: one
    ///   table lookup per byte finds the run's end and the classes its bytes need, and a run that
    ///   no live state leaves is filled in at once.
    /// - **The cut.** When no state after a literal byte's state reads that byte, every split
    ///   reads the line's last such byte in that state (the format's last `"`, before values that
    ///   cannot hold one), so the forward set there is narrowed to it. That drops the client
    ///   values before it, which could otherwise stretch to any later byte.
    /// - **Single states.** When one variable's state alone is live, the next byte that would
    ///   change that is searched for (with `memchr` when one to three byte values would, so the
    ///   words and spaces of an error text are one search; else by a table); the state holds to
    ///   there. Such a stretch narrows to that one state, so the backward pass steps over it and
    ///   its sets are never written.
    pub(super) fn split_word(
        &self,
        line: &[u8],
        spans: &[(usize, usize)],
        scratch: &mut Scratch,
        fast: bool,
    ) -> Split {
        let runs = fast && self.runs;
        let n = line.len();
        let m: &[u64; 256] = self.masks[..256]
            .try_into()
            .expect("one word per byte value");
        let (loops, empties, errors) = (self.loops[0], self.empties[0], self.errors[0]);
        let last = 1u64 << self.last;
        let kinds = &self.kinds;
        // Where the cut narrows the set: after the line's last cut byte. A line without one cannot
        // follow the format.
        let (cut_at, cut_bit) = match self.cut.filter(|_| fast) {
            Some((byte, bit)) => match memchr::memrchr(byte, line) {
                Some(at) => (at + 1, bit),
                None => return Split::NoMatch,
            },
            None => (n + 1, u64::MAX),
        };
        // Forwards: the states reachable after each byte, but for those inside a single state's
        // stretch: the set after byte `p` is at `p` less the length of the stretches before it.
        let sets = &mut scratch.sets;
        sets.clear();
        let spans_of_runs = &mut scratch.runs;
        spans_of_runs.clear();
        let singles = &mut scratch.singles;
        singles.clear();
        let mut d = 1 | ((1 << 1) & empties);
        sets.push(d);
        let mut p = 0;
        let mut skipped = 0;
        while p < n {
            let b = line[p];
            d = step_word(d, m[b as usize], loops, empties);
            p += 1;
            if p == cut_at {
                d &= cut_bit;
            }
            sets.push(d);
            if d == 0 {
                return Split::NoMatch;
            }
            if !fast {
                continue;
            }
            if d & self.skippable == d && d.is_power_of_two() {
                // Up to the cut's byte at most, so the cut still narrows there.
                let limit = if p < cut_at { cut_at - 1 } else { n };
                let stops = self.stops[d.trailing_zeros() as usize]
                    .as_ref()
                    .expect("skippable");
                let to = stops.find(&line[p..limit]).map_or(limit, |i| p + i);
                if to > p {
                    skipped += to - p;
                    singles.push(Single {
                        from: p,
                        to,
                        set: d,
                        skipped,
                    });
                    p = to;
                }
                continue;
            }
            if !runs || kinds[b as usize] & IN_LITERAL != 0 {
                continue;
            }
            // `b` began a run: every state of `d` reads a variable. Find the run's end and the
            // classes its other bytes refuse.
            let start = p;
            let mut refused = 0u8;
            while p < n {
                let k = kinds[line[p] as usize];
                if k & IN_LITERAL != 0 {
                    break;
                }
                refused |= k;
                p += 1;
            }
            if p == start {
                continue;
            }
            let refused = usize::from(refused >> 1);
            if d & self.survive[refused] == d {
                sets.extend(std::iter::repeat_n(d, p - start));
                spans_of_runs.push(Run {
                    start,
                    end: p,
                    refused,
                    narrow: false,
                });
            } else {
                for q in start..p {
                    d &= m[line[q] as usize];
                    sets.push(d);
                }
                if d == 0 {
                    return Split::NoMatch;
                }
            }
        }
        if d & last == 0 {
            return Split::NoMatch;
        }
        // Backwards, narrowing each set to the states that can still finish the line. Over a run
        // the states that can finish only lose those whose class refuses an earlier byte.
        let mut back = last | ((last & empties) >> 1);
        let mut p = n;
        let mut r = spans_of_runs.len();
        let mut r1 = singles.len();
        loop {
            if r1 > 0 && singles[r1 - 1].to == p {
                skipped -= p - singles[r1 - 1].from;
                // The line follows the format, so every narrowed set has a state, and over a
                // single state's stretch that is the state: the states that can finish from its
                // start are, among those reachable there, that state alone. Narrowing by those
                // instead of every state that can finish gives the same sets before it.
                r1 -= 1;
                back = singles[r1].set;
                p = singles[r1].from;
            }
            sets[p - skipped] &= back;
            if p == 0 {
                break;
            }
            if r > 0 && spans_of_runs[r - 1].end == p {
                r -= 1;
                let run = &mut spans_of_runs[r];
                let x = back & m[line[p - 1] as usize];
                let x_all = back & self.survive[run.refused];
                if x == x_all {
                    back = x | (x >> 1);
                    for set in &mut sets[run.start - skipped..p - skipped] {
                        *set &= back;
                    }
                    run.narrow = true;
                    p = run.start;
                    continue;
                }
            }
            let x = back & m[line[p - 1] as usize];
            back = (x >> 1) | (x & loops);
            back |= (back & empties) >> 1;
            p -= 1;
        }
        let sets = &scratch.sets;
        // One split, for the fields: client text as long as possible, the rest as short.
        let bounds = &mut scratch.bounds;
        bounds.clear();
        bounds.resize(self.vars, (0, 0));
        let mut state = 0;
        let mut p = 0;
        let mut runs_left = scratch.runs.iter().filter(|r| r.narrow).peekable();
        let mut singles_left = scratch.singles.iter().peekable();
        let mut skipped = 0;
        while p < n {
            if let Some(run) = singles_left.next_if(|r| r.from == p) {
                debug_assert_eq!(run.set, 1u64 << state);
                skipped = run.skipped;
                p = run.to;
                continue;
            }
            // Inside a run both passes read in one step, the live states are one set of
            // variables, so the split stays in its variable to the run's end.
            if let Some(run) = runs_left.next_if(|r| r.start == p) {
                debug_assert!(sets[p - skipped] & (1u64 << state) & loops != 0);
                p = run.end;
                continue;
            }
            let b = line[p];
            let live = sets[p + 1 - skipped];
            // The states that can read this byte and still finish the line.
            let ok = m[b as usize] & live;
            let bit = 1u64 << state;
            let stay = ok & loops & bit != 0;
            let advance = ok & (bit << 1) != 0;
            let skip = ok & (bit << 2) != 0 && empties & (bit << 1) != 0;
            // Staying in a value is most bytes: client text stays while it can, other values
            // only while nothing after them can take the byte.
            if stay && (empties & bit != 0 || (!advance && !skip)) {
                p += 1;
                continue;
            }
            let next = if advance {
                state + 1
            } else {
                debug_assert!(
                    ok & (bit << 2) != 0,
                    "a live state always has a live successor"
                );
                if let Some(v) = self.state_var[state + 1] {
                    bounds[v] = (p, p);
                }
                state + 2
            };
            if let Some(v) = self.state_var[state] {
                bounds[v].1 = p;
            }
            if let Some(v) = self.state_var[next] {
                bounds[v] = (p, p);
            }
            state = next;
            p += 1;
        }
        if let Some(v) = self.state_var[state] {
            bounds[v].1 = n;
        }
        if state < self.last
            && let Some(v) = self.state_var[self.last]
        {
            bounds[v] = (n, n);
        }
        // The narrowed set after byte `q`, inside a single state's stretch or not.
        let singles = &scratch.singles;
        let set_at = |q: usize| {
            let i = singles.partition_point(|r| r.from < q);
            match i.checked_sub(1).map(|i| singles[i]) {
                Some(run) if q <= run.to => run.set,
                Some(run) => sets[q - run.skipped],
                None => sets[q],
            }
        };
        // Whether a set after bytes `from..to` holds a state that reads no error variable: one test
        // when they all sit in one single state's stretch (a token inside an error text), else one
        // per byte.
        let leaves_errors = |from: usize, to: usize| {
            let i = singles.partition_point(|r| r.from < from + 1);
            match i.checked_sub(1).map(|i| singles[i]) {
                Some(run) if to <= run.to => run.set & !errors != 0,
                _ => (from + 1..=to).any(|q| set_at(q) & !errors != 0),
            }
        };
        let places = spans
            .iter()
            .map(|&(a, b)| {
                if !leaves_errors(a, b) {
                    let s = set_at(a + 1).trailing_zeros() as usize;
                    return Place::Error {
                        var: self.state_var[s].expect("error states read variables"),
                    };
                }
                if set_at(a + 1) & set_at(b) & errors != 0 {
                    Place::Ambiguous
                } else {
                    Place::Elsewhere
                }
            })
            .collect();
        Split::Parsed { places }
    }

    /// Splits a line with state sets of several words each.
    pub(super) fn split_words(
        &self,
        line: &[u8],
        spans: &[(usize, usize)],
        scratch: &mut Scratch,
    ) -> Split {
        let w = self.words;
        let n = line.len();
        let sets = &mut scratch.sets;
        sets.clear();
        sets.resize((n + 1) * w, 0);
        sets[0] = 1;
        self.close_forwards(&mut sets[..w]);
        // Forwards: the states reachable after each byte.
        for (p, &b) in line.iter().enumerate() {
            let mask = &self.masks[b as usize * w..][..w];
            let (done, next) = sets.split_at_mut((p + 1) * w);
            let cur = &done[p * w..];
            let next = &mut next[..w];
            let mut carry = 0;
            let mut any = 0;
            for i in 0..w {
                let d = cur[i];
                let v = ((d << 1) | carry | (d & self.loops[i])) & mask[i];
                carry = d >> 63;
                next[i] = v;
                any |= v;
            }
            if any == 0 {
                return Split::NoMatch;
            }
            self.close_forwards(next);
        }
        if !Self::has(&sets[n * w..], self.last) {
            return Split::NoMatch;
        }
        // Backwards: keep the states from which the rest of the line can still be read to the
        // end. `back` holds the states that can finish from position p.
        let mut back = vec![0u64; w];
        back[self.last / 64] = 1 << (self.last % 64);
        self.close_backwards(&mut back);
        let mut prev = vec![0u64; w];
        for p in (0..=n).rev() {
            let set = &mut sets[p * w..][..w];
            for i in 0..w {
                set[i] &= back[i];
            }
            if p == 0 {
                break;
            }
            // A state at p - 1 can finish if it steps, on byte p - 1, into a state that can.
            let mask = &self.masks[line[p - 1] as usize * w..][..w];
            let mut carry = 0;
            for i in (0..w).rev() {
                let x = back[i] & mask[i];
                prev[i] = (x >> 1) | carry | (x & self.loops[i]);
                carry = x << 63;
            }
            self.close_backwards(&mut prev);
            std::mem::swap(&mut back, &mut prev);
        }
        let live = |p: usize| &sets[p * w..][..w];
        // One split, for the fields: client text as long as possible, the rest as short.
        scratch.bounds.clear();
        scratch.bounds.resize(self.vars, (0, 0));
        let mut state = 0;
        for (p, &b) in line.iter().enumerate() {
            let mask = &self.masks[b as usize * w..][..w];
            let can = |s: usize| s <= self.last && Self::has(mask, s) && Self::has(live(p + 1), s);
            let stay = self.state_var[state].is_some() && can(state);
            let next = if stay && Self::has(&self.empties, state) {
                state
            } else if can(state + 1) {
                state + 1
            } else if can(state + 2) && Self::has(&self.empties, state + 1) {
                // The value after this state is empty.
                if let Some(v) = self.state_var[state + 1] {
                    scratch.bounds[v] = (p, p);
                }
                state + 2
            } else {
                debug_assert!(stay, "a live state always has a live successor");
                state
            };
            if next != state {
                if let Some(v) = self.state_var[state] {
                    scratch.bounds[v].1 = p;
                }
                if let Some(v) = self.state_var[next] {
                    scratch.bounds[v] = (p, p);
                }
            }
            state = next;
        }
        if let Some(v) = self.state_var[state] {
            scratch.bounds[v].1 = n;
        }
        if state < self.last
            && let Some(v) = self.state_var[self.last]
        {
            // The line ended before the last value: it is empty.
            scratch.bounds[v] = (n, n);
        }
        let places = spans
            .iter()
            .map(|&(a, b)| self.place(a, b, &live))
            .collect();
        Split::Parsed { places }
    }

    /// Where the splits put bytes `a..b` (non-empty): the states live after each of them say.
    fn place<'s>(&self, a: usize, b: usize, live: &impl Fn(usize) -> &'s [u64]) -> Place {
        let only_errors =
            (a + 1..=b).all(|q| live(q).iter().zip(&self.errors).all(|(l, e)| l & !e == 0));
        if only_errors {
            let s = (0..=self.last)
                .find(|&s| Self::has(live(a + 1), s))
                .expect("a parsed line has a live state after every byte");
            return Place::Error {
                var: self.state_var[s].expect("error states read variables"),
            };
        }
        // Some split keeps all of `a..b` in one error variable: live there after its first byte
        // and after its last (the bytes between are the variable's own).
        let in_some = (0..=self.last).any(|s| {
            Self::has(&self.errors, s) && Self::has(live(a + 1), s) && Self::has(live(b), s)
        });
        if in_some {
            Place::Ambiguous
        } else {
            Place::Elsewhere
        }
    }
}
