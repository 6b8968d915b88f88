"""A DNA toolbox: a small sample database, GC content, complements, transcription, translation,
motifs and Hamming distances."""

from __future__ import annotations

from typing import Any

from codeact.eval.builtin._common import Domain
from codeact.eval.checks import items, number, text
from codeact.eval.oracle import Calls
from codeact.tools import ToolError, tool

SAMPLES = {
    "S1": "ATGGCGTACGCTTAGGCTAACCGT",
    "S2": "ATGGCTAAAGGTTTCTGGCATTAAGCC",
    "S3": "GGGCCCGCGTATAATGCGCAT",
    "S4": "TTGATAGATACCGATAGATAAC",
    "S5": "ATGCGTACGTTAGCCGATCGATCGGCTAAT",
    "S6": "ATGCGTACCTTAGCCGATGGATCGGCTTAT",
    "S7": "ATGAGTACGTTTGCCGATCTATAATGCTAA",
    "S8": "ATGCGAACGATAGCCGTTCGATCGGCTAAG",
    "S9": "GGATCCATGCATGGATCC",
}

# The standard genetic code, codons in TCAG order: TTT TTC TTA TTG TCT ... GGG.
_BASES = "UCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
_CODONS = {
    a + b + c: _AMINO[16 * i + 4 * j + k]
    for i, a in enumerate(_BASES)
    for j, b in enumerate(_BASES)
    for k, c in enumerate(_BASES)
}


def _dna(sequence: str) -> str:
    sequence = sequence.strip().upper()
    if not sequence or set(sequence) - set("ACGT"):
        raise ToolError("a DNA sequence is made of A, C, G and T only")
    return sequence


@tool
def list_samples() -> list[str]:
    """The ids of the samples in the database."""
    return list(SAMPLES)


@tool
def get_sequence(sample_id: str) -> str:
    """The DNA sequence of a sample.

    Args:
        sample_id: The sample's id, e.g. "S1".
    """
    if sample_id.strip().upper() not in SAMPLES:
        raise ToolError(f"no sample {sample_id!r}; ids are {', '.join(SAMPLES)}")
    return SAMPLES[sample_id.strip().upper()]


@tool
def gc_content(sequence: str) -> float:
    """The share of G and C bases in a DNA sequence, in percent with 2 decimals.

    Args:
        sequence: A DNA sequence (A, C, G, T).
    """
    sequence = _dna(sequence)
    return round(100 * (sequence.count("G") + sequence.count("C")) / len(sequence), 2)


@tool
def reverse_complement(sequence: str) -> str:
    """The reverse complement of a DNA sequence (the other strand, read 5' to 3').

    Args:
        sequence: A DNA sequence.
    """
    return _dna(sequence).translate(str.maketrans("ACGT", "TGCA"))[::-1]


@tool
def transcribe(sequence: str) -> str:
    """The RNA transcribed from a DNA sequence (T becomes U).

    Args:
        sequence: A DNA sequence.
    """
    return _dna(sequence).replace("T", "U")


@tool
def translate(rna: str) -> str:
    """The protein an RNA sequence codes for, in one-letter amino-acid codes.

    Reading starts at the first base and stops before the first stop codon.

    Args:
        rna: An RNA sequence (A, C, G, U); transcribe DNA first.
    """
    rna = rna.strip().upper()
    if "T" in rna:
        raise ToolError("translate takes RNA (U, not T): transcribe the DNA first")
    if not rna or set(rna) - set("ACGU"):
        raise ToolError("an RNA sequence is made of A, C, G and U only")
    protein = []
    for i in range(0, len(rna) - 2, 3):
        amino = _CODONS[rna[i : i + 3]]
        if amino == "*":
            break
        protein.append(amino)
    return "".join(protein)


@tool
def find_motif(sequence: str, motif: str) -> list[int]:
    """Every position (1-based) where a motif starts in a sequence; overlaps count.

    Args:
        sequence: A DNA sequence.
        motif: The motif to look for, e.g. "GATA".
    """
    sequence, motif = _dna(sequence), _dna(motif)
    return [i + 1 for i in range(len(sequence)) if sequence.startswith(motif, i)]


@tool
def hamming_distance(a: str, b: str) -> int:
    """How many positions two DNA sequences of the same length differ at.

    Args:
        a: A DNA sequence.
        b: Another DNA sequence of the same length.
    """
    a, b = _dna(a), _dna(b)
    if len(a) != len(b):
        raise ToolError(f"the sequences differ in length ({len(a)} and {len(b)})")
    return sum(x != y for x, y in zip(a, b, strict=True))


@tool
def count_bases(sequence: str) -> dict:
    """How many of each base a DNA sequence has: {"A": ..., "C": ..., "G": ..., "T": ...}.

    Args:
        sequence: A DNA sequence.
    """
    sequence = _dna(sequence)
    return {base: sequence.count(base) for base in "ACGT"}


TOOLS = [
    list_samples,
    get_sequence,
    gc_content,
    reverse_complement,
    transcribe,
    translate,
    find_motif,
    hamming_distance,
    count_bases,
]
dna = Domain("dna", TOOLS)
TASKS = dna.tasks


def _sequences(calls: Calls, ids: list[str]) -> list[str]:
    return calls.batch(*[("get_sequence", {"sample_id": s}) for s in ids])


@dna.task(
    "What is the GC content of sample S3, in percent? Answer with a number.",
    number(61.9, tolerance=0.01),
    code='final_answer(gc_content(get_sequence("S3")))',
    tags="chain",
)
def gc_of_sample(calls: Calls) -> Any:
    return calls("gc_content", sequence=calls("get_sequence", sample_id="S3"))


@dna.task(
    "What is the reverse complement of sample S1? Answer with the sequence only.",
    text("ACGGTTAGCCTAAGCGTACGCCAT"),
    code='final_answer(reverse_complement(get_sequence("S1")))',
    tags="chain",
)
def reverse_complement_of_sample(calls: Calls) -> Any:
    return calls("reverse_complement", sequence=calls("get_sequence", sample_id="S1"))


@dna.task(
    "Transcribe sample S2 to RNA and translate it. Which protein does it code for? Answer "
    "with the one-letter amino-acid codes only.",
    text("MAKGFWH"),
    code='final_answer(translate(transcribe(get_sequence("S2"))))',
    tags="chain",
)
def protein_of_sample(calls: Calls) -> Any:
    rna = calls("transcribe", sequence=calls("get_sequence", sample_id="S2"))
    return calls("translate", rna=rna)


@dna.task(
    "Which sample in the database has the highest GC content? Answer with its id.",
    text("S3"),
    code="""
gc = {s: gc_content(get_sequence(s)) for s in list_samples()}
print(gc)
final_answer(max(gc, key=gc.get))
""",
    tags="loop",
)
def highest_gc(calls: Calls) -> Any:
    ids = calls("list_samples")
    found = calls.batch(*[("gc_content", {"sequence": s}) for s in _sequences(calls, ids)])
    return max(zip(ids, found, strict=True), key=lambda pair: pair[1])[0]


@dna.task(
    "At which positions (1-based) does the motif GATA start in sample S4? Answer with the "
    "positions in increasing order, separated by commas.",
    items(["3", "7", "13", "17"], ordered=True),
    code='final_answer(find_motif(get_sequence("S4"), "GATA"))',
    tags="chain",
)
def motif_positions(calls: Calls) -> Any:
    return calls("find_motif", sequence=calls("get_sequence", sample_id="S4"), motif="GATA")


@dna.task(
    "Which samples contain the motif TATAAT? Answer with their ids, separated by commas.",
    items(["S3", "S7"]),
    code="""
final_answer([s for s in list_samples() if find_motif(get_sequence(s), "TATAAT")])
""",
    tags="loop",
)
def samples_with_motif(calls: Calls) -> Any:
    ids = calls("list_samples")
    hits = calls.batch(
        *[("find_motif", {"sequence": s, "motif": "TATAAT"}) for s in _sequences(calls, ids)]
    )
    return [s for s, found in zip(ids, hits, strict=True) if found]


@dna.task(
    "What is the Hamming distance between samples S5 and S6? Answer with a number.",
    number(3, tolerance=0),
    code='final_answer(hamming_distance(get_sequence("S5"), get_sequence("S6")))',
    tags="chain",
)
def hamming_pair(calls: Calls) -> Any:
    a, b = _sequences(calls, ["S5", "S6"])
    return calls("hamming_distance", a=a, b=b)


@dna.task(
    "Of the samples S5, S6, S7 and S8, which two are closest by Hamming distance? Answer "
    "with the two ids, separated by a comma.",
    items(["S5", "S6"]),
    code="""
ids = ["S5", "S6", "S7", "S8"]
seqs = {s: get_sequence(s) for s in ids}
pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
best = min(pairs, key=lambda p: hamming_distance(seqs[p[0]], seqs[p[1]]))
final_answer(list(best))
""",
    tags="loop",
)
def closest_pair(calls: Calls) -> Any:
    ids = ["S5", "S6", "S7", "S8"]
    seqs = dict(zip(ids, _sequences(calls, ids), strict=True))
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    distances = calls.batch(*[("hamming_distance", {"a": seqs[a], "b": seqs[b]}) for a, b in pairs])
    return list(min(zip(pairs, distances, strict=True), key=lambda pair: pair[1])[0])


@dna.task(
    "Which sample is its own reverse complement? Answer with its id.",
    text("S9"),
    code="""
final_answer([s for s in list_samples()
              if reverse_complement(get_sequence(s)) == get_sequence(s)][0])
""",
    tags="loop",
)
def palindromic_sample(calls: Calls) -> Any:
    ids = calls("list_samples")
    seqs = _sequences(calls, ids)
    flipped = calls.batch(*[("reverse_complement", {"sequence": s}) for s in seqs])
    return next(i for i, s, r in zip(ids, seqs, flipped, strict=True) if s == r)


@dna.task(
    "Transcribe and translate every sample. Whose protein contains tryptophan (W)? Answer "
    "with the sample's id.",
    text("S2"),
    code="""
proteins = {s: translate(transcribe(get_sequence(s))) for s in list_samples()}
print(proteins)
final_answer([s for s, p in proteins.items() if "W" in p][0])
""",
    tags="loop",
)
def tryptophan_sample(calls: Calls) -> Any:
    ids = calls("list_samples")
    rnas = calls.batch(*[("transcribe", {"sequence": s}) for s in _sequences(calls, ids)])
    proteins = calls.batch(*[("translate", {"rna": r}) for r in rnas])
    return next(i for i, p in zip(ids, proteins, strict=True) if "W" in p)


@dna.task(
    "How many adenine (A) bases do all the samples in the database have together? "
    "Answer with a number.",
    number(59, tolerance=0),
    code="""
final_answer(sum(count_bases(get_sequence(s))["A"] for s in list_samples()))
""",
    tags="loop",
)
def adenine_total(calls: Calls) -> Any:
    seqs = _sequences(calls, calls("list_samples"))
    counts = calls.batch(*[("count_bases", {"sequence": s}) for s in seqs])
    return sum(c["A"] for c in counts)
