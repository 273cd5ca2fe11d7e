//! The binary's memory allocator: mimalloc, with its arenas committed as they are used.
//! Only the binary sets it; the library leaves the choice to the program that links it.

/// mimalloc instead of glibc's malloc: a single-row `serve` request makes a few dozen
/// small allocations, which glibc served with a fifth of the request's time
/// (`malloc_consolidate` alone 4%); docs/serve.md has the measurement.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `arena_eager_commit` (option 4 in the `mi_option_e` of both its v2 and v3
/// `mimalloc.h`): off, so that memory is
/// committed as it is used. On (mimalloc's default where the OS overcommits), a
/// 1,000,000-row `predict` pipe peaked at 30-37 MB instead of 17.5-22 MB (glibc: 13 MB).
#[cfg(target_os = "linux")]
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Runs before Rust's runtime makes its first allocation (an ELF constructor), so the
/// option holds for mimalloc's first arena. Set in `main` it came too late.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static SET_ALLOCATOR_OPTIONS: extern "C" fn() = set_allocator_options;

#[cfg(target_os = "linux")]
extern "C" fn set_allocator_options() {
    // SAFETY: sets an option of the allocator; nothing else runs yet.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_constructor_turned_eager_commit_off() {
        // SAFETY: reads an option.
        let eager = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT) };
        assert_eq!(eager, 0);
    }
}
