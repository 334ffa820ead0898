//! keep-all: the trivial tracelake sampling plugin (ABI v1, wasm/FORMAT.md).
//!
//! It keeps every span and edits nothing. The host zeroes the decisions
//! before each call and 0 means keep, so `tracelake_sample` does not even
//! read the batch. `tracelake_features` returns 0, so the host writes no
//! attributes either. What is left to measure is the host's fixed cost per
//! batch: allocating, writing the batch, one call, reading the decisions.
//!
//! No std, no allocator, no imports at all (not even WASI), no
//! `tracelake_init` (so it must be configured with empty configuration).
//!
//! Build (see wasm/plugins/Makefile.inc):
//!
//!     /usr/bin/rustc --target wasm32-wasi --crate-type cdylib -C opt-level=3 \
//!         -C panic=abort -C linker=/usr/bin/rust-lld -C strip=symbols \
//!         -C link-arg=-zstack-size=65536 \
//!         -o bin/plugins/rust-keep-all.wasm wasm/plugins/rust/keep-all/lib.rs
#![no_std]

use core::arch::wasm32;

// Nothing here can panic; if something ever did, trapping is the only
// honest answer (the host then applies its failure policy).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    wasm32::unreachable()
}

extern "C" {
    // First byte after the stack and static data, provided by wasm-ld.
    static __heap_base: u8;
}

const PAGE: u64 = 65536;

#[no_mangle]
pub extern "C" fn tracelake_abi_version() -> i32 {
    1
}

/// Reads no attributes: the host may leave them out of every batch.
#[no_mangle]
pub extern "C" fn tracelake_features() -> i32 {
    0
}

/// One buffer at the heap base, reused by every call (FORMAT.md only asks
/// that it stay valid until the next alloc). Memory grows to fit `size`;
/// 0 when it cannot.
#[no_mangle]
pub extern "C" fn tracelake_alloc(size: i32) -> i32 {
    let base = unsafe { (&__heap_base as *const u8 as usize + 7) & !7 } as u64;
    let end = base + size as u32 as u64;
    let have = wasm32::memory_size(0) as u64 * PAGE;
    if end > have {
        if end > 1 << 32 || wasm32::memory_grow(0, ((end - have + PAGE - 1) / PAGE) as usize) == usize::MAX {
            return 0;
        }
    }
    base as i32
}

/// Keeps every span: the decisions are already 0.
#[no_mangle]
pub extern "C" fn tracelake_sample(_batch: i32, _len: i32) -> i32 {
    0
}
