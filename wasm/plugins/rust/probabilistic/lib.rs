//! probabilistic: consistent probability sampling for tracelake (ABI v1,
//! wasm/FORMAT.md), compatible with OpenTelemetry's
//! tracestate-probability-sampling (the `th` and `rv` fields of the `ot`
//! trace state entry).
//!
//! Configuration is `{"percent": P}` with 0 <= P <= 100. A span is kept iff
//! its randomness R (the `rv` of its `ot` trace state entry, else the low 56
//! bits of its trace ID) is >= the rejection threshold T derived from P.
//! Every span of a trace with the same R gets the same decision, in every
//! instance and process. Kept spans get `ot=th:<threshold>` in their trace
//! state (other entries kept). README.md gives the exact formulas, which the
//! Go version of this plugin implements too: both must decide and edit alike.
//!
//! No std, no allocator, no WASI: the only imports are `tracelake.error`
//! and `tracelake.set_edits`.
//!
//! Build (see wasm/plugins/Makefile.inc):
//!
//!     /usr/bin/rustc --target wasm32-wasi --crate-type cdylib -C opt-level=3 \
//!         -C panic=abort -C linker=/usr/bin/rust-lld -C strip=symbols \
//!         -C link-arg=-zstack-size=65536 \
//!         -o bin/plugins/rust-probabilistic.wasm wasm/plugins/rust/probabilistic/lib.rs
#![no_std]

use core::arch::wasm32;

// The code avoids every panicking construct (slice indexing, unwrap), so
// core's formatting machinery is never linked in; should a panic remain
// possible somewhere, it traps and the host applies its failure policy.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    wasm32::unreachable()
}

#[link(wasm_import_module = "tracelake")]
extern "C" {
    #[link_name = "error"]
    fn host_error(ptr: *const u8, len: usize);
    #[link_name = "set_edits"]
    fn host_set_edits(ptr: *const u8, len: usize);
}

extern "C" {
    // First byte after the stack and static data, provided by wasm-ld.
    static __heap_base: u8;
}

// ABI v1 (wasm/FORMAT.md, mirrored by wasm/abi/abi.go).
const MAGIC: u32 = 0x3142_4C54; // "TLB1"
const VERSION: u32 = 1;
const HEADER_SIZE: u64 = 64;
const HDR_VERSION: usize = 4;
const HDR_SPAN_COUNT: usize = 8;
const HDR_SPANS_OFFSET: usize = 20;
const HDR_BYTES_OFFSET: usize = 32;
const HDR_BYTES_LEN: usize = 36;
const HDR_DECISIONS: usize = 40;
const SPAN_SIZE: usize = 88;
const SPAN_TRACE_ID_LOW: usize = 8; // the second half of the 16-byte trace ID
const SPAN_TRACE_STATE_OFF: usize = 56;
const SPAN_TRACE_STATE_LEN: usize = 60;
const EDIT_SIZE: usize = 24;
const OP_SET_TRACE_STATE: u32 = 3;
const KEEP: u8 = 0;
const DROP: u8 = 1;

const PAGE: u64 = 65536;

/// 2^56: one more than the largest randomness value. A threshold of
/// MAX_ADJUSTED_COUNT rejects everything (0 percent).
const MAX_ADJUSTED_COUNT: u64 = 1 << 56;

/// The most a trace state grows when rewritten: "ot=th:" (6), 14 digits and
/// one separator, rounded up.
const MAX_GROWTH: u64 = 32;

/// Most digits a configured percent may have after its decimal point
/// (counting the zeros right after it): far beyond a double's precision.
const MAX_DIGITS: usize = 800;
static mut DIGITS: [u8; MAX_DIGITS] = [0; MAX_DIGITS];

// Set by tracelake_init; an instance is used by one goroutine at a time,
// so plain statics are enough.
static mut CONFIGURED: bool = false;
static mut THRESHOLD: u64 = MAX_ADJUSTED_COUNT;
// The whole new trace state of a kept span that had none: "ot=th:<T>".
// Every such span's edit points here.
static mut FRESH: [u8; 20] = [0; 20];
static mut FRESH_LEN: usize = 0;

#[no_mangle]
pub extern "C" fn tracelake_abi_version() -> i32 {
    1
}

/// Reads neither span nor resource attributes: only trace IDs and trace
/// states, which every batch carries.
#[no_mangle]
pub extern "C" fn tracelake_features() -> i32 {
    0
}

fn heap_base() -> u64 {
    unsafe { ((&__heap_base as *const u8 as usize + 7) & !7) as u64 }
}

/// Grows memory so that addresses below `end` are valid.
fn reserve(end: u64) -> bool {
    let have = wasm32::memory_size(0) as u64 * PAGE;
    end <= have
        || (end <= 1 << 32
            && wasm32::memory_grow(0, ((end - have + PAGE - 1) / PAGE) as usize) != usize::MAX)
}

/// One buffer at the heap base, reused by every call: FORMAT.md only asks
/// that it stay valid until the next alloc. `tracelake_sample` keeps its
/// scratch (edits, rewritten trace states) right after the batch.
#[no_mangle]
pub extern "C" fn tracelake_alloc(size: i32) -> i32 {
    let base = heap_base();
    if !reserve(base + size as u32 as u64) {
        return 0;
    }
    base as i32
}

fn fail(msg: &str) -> i32 {
    unsafe { host_error(msg.as_ptr(), msg.len()) };
    1
}

#[no_mangle]
pub extern "C" fn tracelake_init(config: i32, len: i32) -> i32 {
    let cfg: &[u8] = match len {
        0 => &[], // the host may pass a null pointer with empty configuration
        _ => unsafe { core::slice::from_raw_parts(config as u32 as usize as *const u8, len as u32 as usize) },
    };
    let percent = match parse_config(cfg) {
        Ok(p) => p,
        Err(msg) => return fail(msg),
    };
    let t = match threshold(percent / 100.0) {
        Ok(t) => t,
        Err(msg) => return fail(msg),
    };
    unsafe {
        THRESHOLD = t;
        let mut out = Out { p: FRESH.as_mut_ptr() };
        out.put(b"ot=th:");
        out.threshold(t);
        FRESH_LEN = out.p as usize - FRESH.as_ptr() as usize;
        CONFIGURED = true;
    }
    0
}

/// Significant hex digits of a threshold (OpenTelemetry's recommended
/// default), more when it starts with 0s or fs.
const PRECISION: i32 = 4;

/// The rejection threshold for keeping `p` (0 to 1) of traces, as the Go
/// SDK's `probability.ThresholdFromProbability(p, 4)` computes it:
/// T = 2^56 - round(p * 2^56) in double arithmetic (rounding half away from
/// zero), rounded to PRECISION significant hex digits (plus one per leading
/// 0 or f hex digit of p or 1 - p), at most 2^56 - 1. p = 0 gives 2^56,
/// which keeps nothing; p in (0, 2^-56) is an error.
fn threshold(p: f64) -> Result<u64, &'static str> {
    if p == 0.0 {
        return Ok(MAX_ADJUSTED_COUNT);
    }
    if !(p >= 1.0 / MAX_ADJUSTED_COUNT as f64 && p <= 1.0) {
        return Err("probabilistic: percent must be 0 or at least 2^-56 * 100");
    }
    if p == 1.0 {
        return Ok(0);
    }
    // Go's math.Frexp exponent (p and 1 - p are normal here); Go's and
    // Rust's integer division both truncate toward zero.
    let exp = |x: f64| ((x.to_bits() >> 52) & 0x7ff) as i32 - 1022;
    let precision = (PRECISION + exp(p) / -4).max(PRECISION + exp(1.0 - p) / -4).min(14);
    // Exact: scaling by a power of two; x is in (0, 2^56).
    let x = p * MAX_ADJUSTED_COUNT as f64;
    let floor = x as u64;
    // Exact too: below 2^53 floor fits the mantissa, above it x is whole.
    let rounded = if x - floor as f64 >= 0.5 { floor + 1 } else { floor };
    let mut t = MAX_ADJUSTED_COUNT - rounded;
    let shift = 4 * (14 - precision) as u32;
    if shift != 0 {
        t = (t + (1 << (shift - 1))) >> shift << shift;
    }
    Ok(t.min(MAX_ADJUSTED_COUNT - 1))
}

/// Parses `{"percent": <number>}`: one JSON object whose only member is
/// "percent", a JSON number in [0, 100], as the Go SDK's `config.Decode`
/// accepts it (JSON escapes in the key too); other members, repeated members
/// and other value types are errors.
fn parse_config(cfg: &[u8]) -> Result<f64, &'static str> {
    const REQUIRED: &str = "probabilistic: percent is required, e.g. {\"percent\": 10}";
    const BAD: &str = "probabilistic: config must be a JSON object like {\"percent\": 10}";
    let mut c = Cursor { s: cfg };
    let mut percent = None;
    c.ws();
    if c.s.is_empty() || c.literal(b"null") {
        // No configuration: valid JSON, but the percent is missing.
        c.ws();
        return Err(if c.s.is_empty() { REQUIRED } else { BAD });
    }
    if !c.eat(b'{') {
        return Err(BAD);
    }
    c.ws();
    if !c.eat(b'}') {
        loop {
            c.ws();
            if !c.eat(b'"') {
                return Err(BAD);
            }
            if !c.key_is_percent()? {
                return Err("probabilistic: unknown config field (the only one is \"percent\")");
            }
            if percent.is_some() {
                return Err("probabilistic: duplicate field \"percent\"");
            }
            c.ws();
            if !c.eat(b':') {
                return Err(BAD);
            }
            c.ws();
            percent = Some(c.number()?);
            c.ws();
            if c.eat(b'}') {
                break;
            }
            if !c.eat(b',') {
                return Err(BAD);
            }
        }
    }
    c.ws();
    if !c.s.is_empty() {
        return Err("probabilistic: data after the config object");
    }
    match percent {
        None => Err(REQUIRED),
        Some(p) if p >= 0.0 && p <= 100.0 => Ok(p),
        Some(_) => Err("probabilistic: percent must be between 0 and 100"),
    }
}

struct Cursor<'a> {
    s: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let [b' ' | b'\t' | b'\n' | b'\r', rest @ ..] = self.s {
            self.s = rest;
        }
    }

    fn eat(&mut self, want: u8) -> bool {
        match self.s {
            [c, rest @ ..] if *c == want => {
                self.s = rest;
                true
            }
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        match self.s.get(..word.len()) {
            Some(w) if same(w, word) => {
                self.s = self.s.get(word.len()..).unwrap_or(&[]);
                true
            }
            _ => false,
        }
    }

    /// Reads the rest of a key whose opening quote was eaten; whether it is
    /// "percent" once its escapes are decoded. Only escapes of ASCII
    /// characters can spell "percent", so others just make it another key.
    fn key_is_percent(&mut self) -> Result<bool, &'static str> {
        const BAD: &str = "probabilistic: malformed string in config";
        let mut matched = 0; // bytes of "percent" matched so far
        let mut other = false;
        let mut push = |c: u32| {
            match b"percent".get(matched) {
                Some(&want) if !other && c == want as u32 => matched += 1,
                _ => other = true,
            }
        };
        loop {
            match self.s {
                [b'"', rest @ ..] => {
                    self.s = rest;
                    return Ok(!other && matched == 7);
                }
                [b'\\', b'u', a, b, c, d, rest @ ..] => {
                    let mut v = 0;
                    for &h in &[*a, *b, *c, *d] {
                        v = v << 4 | hex_digit(h).ok_or(BAD)? as u32;
                    }
                    push(v); // a surrogate (>= 0xd800) never matches
                    self.s = rest;
                }
                [b'\\', e, rest @ ..] => {
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => push(0x100), // never matches
                        _ => return Err(BAD),
                    }
                    self.s = rest;
                }
                [c, rest @ ..] if *c >= 0x20 => {
                    push(*c as u32);
                    self.s = rest;
                }
                _ => return Err(BAD),
            }
        }
    }

    /// A JSON number (RFC 8259 grammar) as the nearest double (ties to
    /// even): what Go's strconv.ParseFloat yields. core's float parser
    /// would do, but drags in 22 KB of formatting code; this is exact binary
    /// long division of the decimal, for numbers below 1000 with at most
    /// MAX_DIGITS digits after the point (others are refused: no percent).
    fn number(&mut self) -> Result<f64, &'static str> {
        const NAN: &str = "probabilistic: percent must be a JSON number";
        const RANGE: &str = "probabilistic: percent must be between 0 and 100";
        const LONG: &str = "probabilistic: percent has too many digits";
        const TINY: &str = "probabilistic: percent must be 0 or at least 2^-56 * 100";
        let neg = self.eat(b'-');
        let int = self.digits();
        if int.is_empty() || (int.len() > 1 && int.first() == Some(&b'0')) {
            return Err(NAN);
        }
        let mut frac: &[u8] = &[];
        if self.eat(b'.') {
            frac = self.digits();
            if frac.is_empty() {
                return Err(NAN);
            }
        }
        let mut exp = 0i64;
        if self.eat(b'e') || self.eat(b'E') {
            let eneg = self.eat(b'-');
            if !eneg {
                self.eat(b'+');
            }
            let e = self.digits();
            if e.is_empty() {
                return Err(NAN);
            }
            for &c in e {
                exp = (exp * 10 + (c - b'0') as i64).min(1 << 20);
            }
            if eneg {
                exp = -exp;
            }
        }

        // The value is 0.D * 10^point, D = digits[lead..lead + sig]: the
        // digits without leading and trailing zeros.
        let at = |i: usize| match int.get(i) {
            Some(&c) => c,
            None => frac.get(i - int.len()).copied().unwrap_or(b'0'),
        };
        let total = int.len() + frac.len();
        let mut lead = 0;
        while lead < total && at(lead) == b'0' {
            lead += 1;
        }
        let mut sig = total - lead;
        while sig > 0 && at(lead + sig - 1) == b'0' {
            sig -= 1;
        }
        if sig == 0 {
            return Ok(0.0); // -0 too: Go reads -0.0, which is >= 0
        }
        let point = int.len() as i64 + exp - lead as i64;
        // Range checks on the decimal only where the double cannot differ:
        // the caller checks [0, 100] on the double, as Go does (so
        // 100.00000000000000000001, which rounds to 100, is accepted).
        // Negative numbers so small that Go reads them as -0 (below about
        // 2.5e-324) are refused here.
        if neg || point > 3 {
            return Err(RANGE);
        }
        if point < -20 {
            // Below 1e-20: under the least percent, 2^-56 * 100, unless it
            // underflows to 0 as a double, as it surely does below 1e-324.
            return if point <= -324 { Ok(0.0) } else { Err(TINY) };
        }
        // Integer part, then the fraction's digits into f.
        let (mut m, mut next) = (0u64, lead);
        for _ in 0..point.max(0) {
            let c = if next < lead + sig { at(next) } else { b'0' };
            m = m * 10 + (c - b'0') as u64;
            next += 1;
        }
        // A static rather than a zeroed local: zeroing 800 bytes compiles
        // to a call to C's memset, which nothing provides (see `same`).
        let f = unsafe { &mut *core::ptr::addr_of_mut!(DIGITS) };
        let mut len = (-point).max(0) as usize; // zeros right after the point, <= 20
        for i in 0..len {
            unsafe { core::ptr::write_volatile(f.as_mut_ptr().add(i), 0) };
        }
        while next < lead + sig {
            match f.get_mut(len) {
                Some(d) => *d = at(next) - b'0',
                None => return Err(LONG),
            }
            len += 1;
            next += 1;
        }
        // Long division by doubling the fraction: each carry out of it is
        // the next bit. Stop at 54 bits (53 for the mantissa and a rounding
        // bit); what is left of the fraction is the sticky part.
        let mut e2 = 0i32; // the value is about m * 2^e2
        while m < 1 << 53 {
            let mut carry = 0;
            for d in f.iter_mut().take(len).rev() {
                let x = *d * 2 + carry;
                carry = (x >= 10) as u8;
                *d = x - carry * 10;
            }
            while len > 0 && f.get(len - 1) == Some(&0) {
                len -= 1;
            }
            m = m << 1 | carry as u64;
            e2 -= 1;
        }
        let round = m & 1 == 1;
        m >>= 1;
        e2 += 1;
        if round && (len > 0 || m & 1 == 1) {
            m += 1;
            if m == 1 << 53 {
                m >>= 1;
                e2 += 1;
            }
        }
        // m < 2^53 converts exactly; scaling by 2^e2 is exact as well
        // (the value is far from the subnormal range).
        Ok(m as f64 * f64::from_bits(((1023 + e2) as u64) << 52))
    }

    fn digits(&mut self) -> &'a [u8] {
        let start = self.s;
        let mut n = 0;
        while let [b'0'..=b'9', rest @ ..] = self.s {
            self.s = rest;
            n += 1;
        }
        start.get(..n).unwrap_or(&[])
    }
}

/// Byte equality without `==` on slices, which lowers to a call to C's
/// memcmp: without std nothing provides it, and wasm-ld would make it an
/// `env` import that the host refuses. Likewise `Out::put` copies byte by
/// byte rather than with `copy_nonoverlapping` (memcpy).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Writes into plugin memory that `reserve` made room for.
struct Out {
    p: *mut u8,
}

impl Out {
    fn put(&mut self, s: &[u8]) {
        for &c in s {
            unsafe {
                self.p.write(c);
                self.p = self.p.add(1);
            }
        }
    }

    /// The `th` encoding of a threshold below 2^56: 14 lowercase hex
    /// digits with trailing zeros removed, "0" for 0.
    fn threshold(&mut self, t: u64) {
        if t == 0 {
            self.put(b"0");
            return;
        }
        let mut len = 14;
        while (t >> (4 * (14 - len))) & 0xf == 0 {
            len -= 1;
        }
        for i in 0..len {
            let d = b"0123456789abcdef"[((t >> (4 * (13 - i))) & 0xf) as usize];
            self.put(&[d]);
        }
    }
}

fn hex_digit(c: u8) -> Option<u64> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u64),
        b'a'..=b'f' => Some((c - b'a' + 10) as u64),
        b'A'..=b'F' => Some((c - b'A' + 10) as u64),
        _ => None,
    }
}

fn hex(s: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for &c in s {
        v = v << 4 | hex_digit(c)?;
    }
    Some(v)
}

/// `rv`: exactly 14 hex digits.
fn parse_rv(s: &[u8]) -> Option<u64> {
    if s.len() != 14 {
        return None;
    }
    hex(s)
}

/// `th`: 1 to 14 hex digits, extended with trailing zeros to 14.
fn parse_th(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 14 {
        return None;
    }
    Some(hex(s)? << (4 * (14 - s.len())))
}

/// Removes W3C optional whitespace (spaces and tabs) at both ends.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Splits `s` at the first `sep`: the key before it (all of `s` without
/// one) and the value after it.
fn cut(s: &[u8], sep: u8) -> (&[u8], &[u8]) {
    let mut parts = s.splitn(2, move |&c| c == sep);
    (parts.next().unwrap_or(&[]), parts.next().unwrap_or(&[]))
}

/// What a trace state says for sampling: the first list member whose key
/// (trimmed, before `=`) is `ot`, its index among the `,`-separated pieces
/// (empty ones counted), and the first valid `th` and `rv` of its
/// `;`-separated sub-members (key before `:`).
struct OTel {
    ot: Option<(&'static [u8], usize)>,
    th: Option<u64>,
    rv: Option<u64>,
}

fn parse_trace_state(ts: &'static [u8]) -> OTel {
    let mut o = OTel { ot: None, th: None, rv: None };
    for (i, m) in ts.split(|&c| c == b',').enumerate() {
        if let (b"ot", v) = cut(trim(m), b'=') {
            o.ot = Some((v, i));
            break;
        }
    }
    if let Some((ot, _)) = o.ot {
        for sub in ot.split(|&c| c == b';') {
            match cut(sub, b':') {
                (b"th", v) if o.th.is_none() => o.th = parse_th(v),
                (b"rv", v) if o.rv.is_none() => o.rv = parse_rv(v),
                _ => {}
            }
        }
    }
    o
}

/// Most characters in the `ot` entry's value, and most list members
/// (tracestate-handling.md and W3C Trace Context).
const MAX_OT_LEN: usize = 256;
const MAX_MEMBERS: usize = 32;

/// Writes the `ot` sub-members of `ot` other than `th` after `out`'s
/// `start`, `;`-separated.
fn put_subs(out: &mut Out, start: *mut u8, ot: &[u8]) {
    for sub in ot.split(|&c| c == b';') {
        if matches!(sub, [] | [b't', b'h'] | [b't', b'h', b':', ..]) {
            continue;
        }
        if out.p != start {
            out.put(b";");
        }
        out.put(sub);
    }
}

/// Writes a kept span's new trace state, as the Go SDK's
/// `probability.SetThreshold` does: `ot=th:<t>` and the other sub-members
/// of its first `ot` entry (without `th` when the value would pass 256
/// characters), then its other list members, trimmed, empty ones left out,
/// at most 32 members.
fn set_threshold(out: &mut Out, ts: &[u8], o: &OTel, t: u64) {
    let (ot, ot_index): (&[u8], usize) = match o.ot {
        Some((v, i)) => (v, i),
        None => (&[], usize::MAX),
    };
    let begin = out.p;
    out.put(b"ot=");
    let start = out.p;
    out.put(b"th:");
    out.threshold(t);
    put_subs(out, start, ot);
    if out.p as usize - start as usize > MAX_OT_LEN {
        out.p = start;
        put_subs(out, start, ot);
    }
    let mut members = 1;
    if out.p == start {
        out.p = begin; // nothing left in ot: no entry
        members = 0;
    }
    for (i, m) in ts.split(|&c| c == b',').enumerate() {
        let m = trim(m);
        if m.is_empty() || i == ot_index {
            continue;
        }
        if members == MAX_MEMBERS {
            break;
        }
        if out.p != begin {
            out.put(b",");
        }
        out.put(m);
        members += 1;
    }
}

#[inline(always)]
unsafe fn u32_at(p: usize) -> u32 {
    u32::from_le((p as *const u32).read_unaligned())
}

/// R >= t for R the low 56 bits of the span's trace ID (big-endian).
/// R's first byte decides unless it equals t's (`top`): one byte load for
/// 255 spans in 256 instead of a load and a byte swap, which wasm lacks.
#[inline(always)]
unsafe fn trace_id_keeps(span: usize, t: u64, top: u32) -> bool {
    let first = *((span + SPAN_TRACE_ID_LOW + 1) as *const u8) as u32;
    if first != top {
        return first > top;
    }
    trace_id_randomness(span) >= t
}

/// The low 56 bits of the span's trace ID, read big-endian.
#[inline(always)]
unsafe fn trace_id_randomness(span: usize) -> u64 {
    u64::from_be(((span + SPAN_TRACE_ID_LOW) as *const u64).read_unaligned()) & (MAX_ADJUSTED_COUNT - 1)
}

#[no_mangle]
pub extern "C" fn tracelake_sample(batch: i32, len: i32) -> i32 {
    match unsafe { sample(batch as u32 as usize, len as u32 as u64) } {
        Ok(()) => 0,
        Err(msg) => fail(msg),
    }
}

unsafe fn sample(batch: usize, len: u64) -> Result<(), &'static str> {
    if !CONFIGURED {
        return Err("probabilistic: not configured (tracelake_init was not called)");
    }
    if len < HEADER_SIZE || batch as u64 + len > wasm32::memory_size(0) as u64 * PAGE {
        return Err("probabilistic: batch shorter than its header or outside memory");
    }
    if u32_at(batch) != MAGIC || u32_at(batch + HDR_VERSION) != VERSION {
        return Err("probabilistic: not a version 1 batch (bad magic or version)");
    }
    let n = u32_at(batch + HDR_SPAN_COUNT) as usize;
    let spans = u32_at(batch + HDR_SPANS_OFFSET) as u64;
    let bytes = u32_at(batch + HDR_BYTES_OFFSET) as u64;
    let bytes_len = u32_at(batch + HDR_BYTES_LEN) as u64;
    let decisions = u32_at(batch + HDR_DECISIONS) as u64;
    if spans + n as u64 * SPAN_SIZE as u64 > len || bytes + bytes_len > len || decisions + n as u64 > len {
        return Err("probabilistic: batch sections run past its end");
    }
    let (spans, decisions) = (batch + spans as usize, batch + decisions as usize);

    // Scratch after the batch: n edit records, then rewritten trace states.
    let edits = (batch as u64 + len + 7) & !7;
    let text = edits + (n * EDIT_SIZE) as u64;
    if !reserve(text) {
        return Err("probabilistic: out of memory");
    }
    let edits = edits as usize;
    let mut n_edits = 0usize;

    let t = THRESHOLD;
    let top = (t >> 48) as u32; // the threshold's first byte (256 when it is 2^56)
    let fresh = FRESH.as_ptr() as u64 | (FRESH_LEN as u64) << 32;
    let mut st = States {
        bytes: batch + bytes as usize,
        bytes_len,
        t,
        text,
        room: text,
        key: (u32::MAX, 0),
        otel: OTel { ot: None, th: None, rv: None },
        edit: None,
    };

    // The hot loop: spans without a trace state (the usual case) are
    // decided here; the others in States::decide, out of line, so that
    // this loop keeps few live values.
    for i in 0..n {
        let span = spans + i * SPAN_SIZE;
        let ts_len = u32_at(span + SPAN_TRACE_STATE_LEN);
        let keep = if ts_len == 0 {
            if trace_id_keeps(span, t, top) {
                Some(fresh)
            } else {
                None
            }
        } else {
            match st.decide(span, ts_len)? {
                Some(None) => {
                    *((decisions + i) as *mut u8) = KEEP;
                    continue;
                }
                Some(Some(edit)) => Some(edit),
                None => None,
            }
        };
        match keep {
            None => *((decisions + i) as *mut u8) = DROP,
            Some(value) => {
                *((decisions + i) as *mut u8) = KEEP;
                // span index; op 3 and 3 reserved zero bytes; no key;
                // the value's pointer and length.
                let rec = (edits + n_edits * EDIT_SIZE) as *mut u64;
                rec.write(i as u64 | (OP_SET_TRACE_STATE as u64) << 32);
                rec.add(1).write(0);
                rec.add(2).write(value);
                n_edits += 1;
            }
        }
    }
    if n_edits > 0 {
        host_set_edits(edits as *const u8, n_edits * EDIT_SIZE);
    }
    Ok(())
}

/// Deciding spans that carry a trace state. Spans of a trace usually share
/// one, often the very same bytes: the last one parsed is remembered.
struct States {
    bytes: usize,
    bytes_len: u64,
    t: u64,
    // Where the next rewritten trace state goes, and the end of the memory
    // reserved for them.
    text: u64,
    room: u64,
    // The last trace state parsed (offset and length in the byte area) and
    // what it says (borrowing the batch: 'static only for the one call);
    // the last rewrite of it (pointer | length << 32) and its threshold.
    key: (u32, u32),
    otel: OTel,
    edit: Option<(u64, u64)>,
}

impl States {
    /// The Go SDK's `probability.Sampler.Sample` for a non-empty trace
    /// state. None: drop. Some(edit): keep, with the edit's value, if any.
    #[inline(never)]
    unsafe fn decide(&mut self, span: usize, ts_len: u32) -> Result<Option<Option<u64>>, &'static str> {
        let ts_off = u32_at(span + SPAN_TRACE_STATE_OFF);
        if ts_off as u64 + ts_len as u64 > self.bytes_len {
            return Err("probabilistic: a span's trace state runs past the byte area");
        }
        let ts: &'static [u8] = core::slice::from_raw_parts((self.bytes + ts_off as usize) as *const u8, ts_len as usize);
        if (ts_off, ts_len) != self.key {
            self.key = (ts_off, ts_len);
            self.otel = parse_trace_state(ts);
            self.edit = None;
        }
        let r = match self.otel.rv {
            Some(rv) => rv,
            None => trace_id_randomness(span),
        };
        // An incoming th is honoured when consistent (R >= th): a
        // downstream sampler may raise the threshold, never lower it. An
        // inconsistent or malformed one is replaced.
        let mut t = self.t;
        let consistent = match self.otel.th {
            Some(th) if th <= r => {
                t = t.max(th);
                Some(th)
            }
            _ => None,
        };
        if r < t {
            return Ok(None);
        }
        if consistent == Some(t) {
            return Ok(Some(None)); // already says th = t
        }
        if let Some((edit, edit_t)) = self.edit {
            if edit_t == t {
                return Ok(Some(Some(edit)));
            }
        }
        let need = self.text + ts_len as u64 + MAX_GROWTH;
        if need > self.room {
            self.room = need + 4096;
            if !reserve(self.room) {
                return Err("probabilistic: out of memory");
            }
        }
        let mut out = Out { p: self.text as usize as *mut u8 };
        set_threshold(&mut out, ts, &self.otel, t);
        let olen = out.p as u64 - self.text;
        let edit = self.text | olen << 32;
        self.text += olen;
        self.edit = Some((edit, t));
        Ok(Some(Some(edit)))
    }
}
