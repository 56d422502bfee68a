; The timed loops of bench_mmu (see bench_mmu.c). Each runs n >= 1 iterations of one event and
; returns the sum of the words it loaded, which the C side checks. Every loop ends its
; iteration with "dec ecx / jnz": the loop's own cost is that of `empty` (loop_touch over one
; page, whose single load always hits the soft TLB).

global loop_touch, loop_pf, loop_pfmap, loop_cr3, loop_ptw_same, loop_ptw_flip
global pf_skip_handler, pf_map_handler
global pf_count, pf_map_pt, pf_map_value

section .bss
pf_count:     resd 1                ; #PFs taken by either handler
pf_map_pt:    resd 1                ; pf_map_handler: the page table that maps CR2
pf_map_value: resd 1                ; ... and the PTE value it writes there

section .text

; uint32_t loop_touch(uint32_t n, uint32_t start, uint32_t end, uint32_t stride)
; One load per iteration, walking start, start+stride, ... and wrapping at end. Over 1024+ pages
; every load misses a 256-entry direct-mapped TLB; over one page (end = start + stride) it hits.
loop_touch:
    push ebx
    push esi
    push edi
    push ebp
    mov ecx, [esp + 20]
    mov esi, [esp + 24]
    mov ebx, esi
    mov edi, [esp + 28]
    mov ebp, [esp + 32]
    xor eax, eax
.top:
    add eax, [esi]
    lea edx, [esi + ebp]
    cmp edx, edi
    cmovae edx, ebx
    mov esi, edx
    dec ecx
    jnz .top
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret

; uint32_t loop_pf(uint32_t n, uint32_t va): va is not present; pf_skip_handler skips the load.
; Returns 0 + whatever the handler left (nothing: EAX is not touched).
loop_pf:
    push esi
    mov ecx, [esp + 8]
    mov esi, [esp + 12]
    xor eax, eax
.top:
    mov eax, [esi]                  ; 8B 06: two bytes, faults every time
    dec ecx
    jnz .top
    pop esi
    ret

; #PF: drop the error code, step over the 2-byte load, count, return.
pf_skip_handler:
    add esp, 4
    add dword [esp], 2
    inc dword [pf_count]
    iretd

; uint32_t loop_pfmap(uint32_t n, uint32_t va, uint32_t *pte): demand paging. The load faults,
; pf_map_handler maps the page (writes *pte), the load re-runs and succeeds; then the loop unmaps
; the page again (PTE = 0, INVLPG).
loop_pfmap:
    push ebx
    push esi
    push edi
    mov ecx, [esp + 16]
    mov esi, [esp + 20]
    mov edi, [esp + 24]
    xor ebx, ebx
.top:
    mov eax, [esi]
    add ebx, eax
    mov dword [edi], 0
    invlpg [esi]
    dec ecx
    jnz .top
    mov eax, ebx
    pop edi
    pop esi
    pop ebx
    ret

; #PF: map the faulting page: PTE (CR2 >> 12) & 0x3ff of pf_map_pt gets pf_map_value.
pf_map_handler:
    push eax
    push edx
    mov eax, cr2
    shr eax, 12
    and eax, 0x3ff
    mov edx, [pf_map_pt]
    lea edx, [edx + eax * 4]
    mov eax, [pf_map_value]
    mov [edx], eax
    inc dword [pf_count]
    pop edx
    pop eax
    add esp, 4
    iretd

; uint32_t loop_cr3(uint32_t n, uint32_t cr3_a, uint32_t cr3_b, uint32_t va, uint32_t pages)
; Each iteration loads the other CR3 (a, b, a, ...) and then loads one word from each of
; `pages` consecutive pages at va (pages >= 1).
loop_cr3:
    push ebx
    push esi
    push edi
    push ebp
    mov ecx, [esp + 20]
    mov ebx, [esp + 24]
    mov ebp, [esp + 28]
    xor ebp, ebx                    ; a ^ b: flips ebx between the two
    xor eax, eax
.top:
    mov cr3, ebx
    xor ebx, ebp
    mov esi, [esp + 32]
    mov edi, [esp + 36]
.touch:
    add eax, [esi]
    add esi, 4096
    dec edi
    jnz .touch
    dec ecx
    jnz .top
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret

; uint32_t loop_ptw_same(uint32_t n, uint32_t *pte, uint32_t value, uint32_t va)
; Rewrites a live PTE with the value it already holds, then loads through it.
loop_ptw_same:
    push ebx
    push esi
    push edi
    mov ecx, [esp + 16]
    mov edi, [esp + 20]
    mov ebx, [esp + 24]
    mov esi, [esp + 28]
    xor eax, eax
.top:
    mov [edi], ebx
    add eax, [esi]
    dec ecx
    jnz .top
    pop edi
    pop esi
    pop ebx
    ret

; uint32_t loop_ptw_flip(uint32_t n, uint32_t *pte, uint32_t v0, uint32_t v1, uint32_t va)
; Points a live PTE at the other of two frames (v0, v1, v0, ...), INVLPG, loads through it.
loop_ptw_flip:
    push ebx
    push esi
    push edi
    push ebp
    mov ecx, [esp + 20]
    mov edi, [esp + 24]
    mov ebx, [esp + 28]
    mov ebp, [esp + 32]
    xor ebp, ebx
    mov esi, [esp + 36]
    xor eax, eax
.top:
    mov [edi], ebx
    invlpg [esi]
    add eax, [esi]
    xor ebx, ebp
    dec ecx
    jnz .top
    pop ebp
    pop edi
    pop esi
    pop ebx
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
