//! argon2's working memory for one hashing thread, backed by huge pages where the kernel offers them.

use argon2::Block;

/// Bytes in a transparent huge page on x86-64 and aarch64 (with 4 KiB base pages): the granule the kernel backs
/// with one huge page, and so the slack an arena carries to hold whole ones.
const HUGE_PAGE_BYTES: usize = 2 << 20;

/// Working memory for one hash at a time: `blocks` argon2 blocks of 1 KiB, allocated once and reused by every hash.
///
/// On Linux the memory is advised for transparent huge pages (`MADV_HUGEPAGE`) before it is first touched. argon2
/// reads blocks at data-dependent places all over its 19 MiB, so with 4 KiB pages nearly every such read also misses
/// the TLB and walks the page tables, whose entries the rest of the server's work evicts between hashes. Backed by
/// 2 MiB pages the same memory needs ten TLB entries. Measured here: a hash 3 to 4 % faster alone and 5 % faster
/// with every core hashing (`docs/benchmarks.md`). Distributions mostly ship transparent huge pages in `madvise`
/// mode, where memory gets them only when asked; where they are off, the advice is ignored and nothing else
/// changes.
#[derive(Debug)]
pub(crate) struct Arena {
    /// Exactly the blocks, with the slack as spare capacity.
    memory: Vec<Block>,
}

impl Arena {
    /// An arena of `blocks` zeroed blocks.
    pub(crate) fn new(blocks: usize) -> Self {
        // One huge page of slack: the kernel backs only 2 MiB ranges aligned to 2 MiB with huge pages, so this lets
        // the range the blocks end in be whole. It costs at most that one huge page's unused part; the rest of the
        // slack is never touched.
        let slack = HUGE_PAGE_BYTES / Block::SIZE;
        let mut memory = Vec::with_capacity(blocks.saturating_add(slack));
        advise_huge_pages(&memory);
        // Zeroing touches the memory for the first time, so the advice above decides which pages back it.
        memory.resize(blocks, Block::default());
        Self { memory }
    }

    /// The blocks, for argon2 to overwrite.
    pub(crate) fn blocks(&mut self) -> &mut [Block] {
        &mut self.memory
    }
}

/// Asks the kernel to back the whole of `memory`'s allocation with transparent huge pages, best effort.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise_huge_pages(memory: &Vec<Block>) {
    let page = rustix::param::page_size();
    let start = memory.as_ptr() as usize;
    let end = start + memory.capacity() * Block::SIZE;
    // madvise takes page-aligned ranges; the partial pages at either end are left as they are.
    let first = start.next_multiple_of(page);
    let last = end - end % page;
    if last <= first {
        return;
    }
    // SAFETY: the range lies inside `memory`'s own allocation, which is alive for the call. `MADV_HUGEPAGE` only
    // marks the range as one the kernel may back with huge pages: unlike the destructive advices, it neither frees
    // nor changes memory, so no reference to it (there are none yet) can observe it. A failure (a kernel built without
    // transparent huge pages) leaves the memory as an ordinary allocation.
    let _ = unsafe {
        rustix::mm::madvise(
            first as *mut std::ffi::c_void,
            last - first,
            rustix::mm::Advice::LinuxHugepage,
        )
    };
}

/// Transparent huge pages are Linux's; elsewhere the arena is an ordinary allocation.
#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_memory: &Vec<Block>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arena_holds_the_blocks_asked_for_zeroed() {
        let mut arena = Arena::new(8);
        assert_eq!(arena.blocks().len(), 8);
        assert!(arena
            .blocks()
            .iter()
            .all(|block| block.as_ref().iter().all(|word| *word == 0)));
    }

    /// The advice is visible in the kernel's account of the process's mappings: the mapping that holds the arena
    /// carries the `hg` flag ("huge pages advised") in `/proc/self/smaps`. Whether huge pages then back it is the
    /// kernel's choice (free memory, its settings), so that is not asserted.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_arena_is_advised_for_huge_pages() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
            // A kernel without transparent huge pages refuses the advice; the arena works as ordinary memory.
            return;
        }
        let mut arena = Arena::new(19_456);
        // A block in the middle: the partial pages at the ends are not advised.
        let address = std::ptr::from_ref(&arena.blocks()[19_456 / 2]) as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        let flags = mapping_flags(&smaps, address).unwrap_or_default();
        assert!(
            flags.split_whitespace().any(|flag| flag == "hg"),
            "the arena's mapping has flags {flags:?}"
        );
    }

    /// The `VmFlags` of the mapping in `smaps` that contains `address`.
    #[cfg(target_os = "linux")]
    fn mapping_flags(smaps: &str, address: usize) -> Option<String> {
        let mut inside = false;
        for line in smaps.lines() {
            let range = line
                .split_whitespace()
                .next()
                .and_then(|range| range.split_once('-'))
                .and_then(|(start, end)| {
                    Some((
                        usize::from_str_radix(start, 16).ok()?,
                        usize::from_str_radix(end, 16).ok()?,
                    ))
                });
            if let Some((start, end)) = range {
                inside = (start..end).contains(&address);
            } else if let Some(flags) = line.strip_prefix("VmFlags:") {
                if inside {
                    return Some(flags.trim().to_owned());
                }
            }
        }
        None
    }
}
