"""Tests for harborguard.retention.doublestar, the port of bmatcuk/doublestar ``Match``.

Expected values come from the library's own test tables and, for the extra cases, from running the
real Go code (tags v1.3.4 and v1.1.1, go1.19) on each pair; they are transcribed, not computed.
"""

from __future__ import annotations

import random

import pytest

from harborguard.retention import doublestar as ds
from harborguard.retention.doublestar import PatternError, compile_pattern, match

# v1.3.4, commit ec92414acf6b37022a5de45c2cfb10569c523730, doublestar_test.go `matchTests`:
# (pattern, name, shouldMatch, expectedErr is ErrBadPattern). TestMatch runs every row through
# Match (the testOnDisk column only concerns Glob/PathMatch, so it is dropped); TestGlobSorted is
# Glob-only and has no Match vectors.
V134_VECTORS: list[tuple[str, str, bool, bool]] = [
    ("*", "", True, False),
    ("*", "/", False, False),
    ("/*", "/", True, False),
    ("/*", "/debug/", False, False),
    ("/*", "//", False, False),
    ("abc", "abc", True, False),
    ("*", "abc", True, False),
    ("*c", "abc", True, False),
    ("*/", "a/", True, False),
    ("a*", "a", True, False),
    ("a*", "abc", True, False),
    ("a*", "ab/c", False, False),
    ("a*/b", "abc/b", True, False),
    ("a*/b", "a/c/b", False, False),
    ("a*b*c*d*e*", "axbxcxdxe", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False, False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False, False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True, False),
    ("a*b?c*x", "abxbbxdbxebxczzy", False, False),
    ("ab[c]", "abc", True, False),
    ("ab[b-d]", "abc", True, False),
    ("ab[e-g]", "abc", False, False),
    ("ab[^c]", "abc", False, False),
    ("ab[^b-d]", "abc", False, False),
    ("ab[^e-g]", "abc", True, False),
    ("a\\*b", "ab", False, False),
    ("a?b", "a☺b", True, False),
    ("a[^a]b", "a☺b", True, False),
    ("a???b", "a☺b", False, False),
    ("a[^a][^a][^a]b", "a☺b", False, False),
    ("[a-ζ]*", "α", True, False),
    ("*[a-ζ]", "A", False, False),
    ("a?b", "a/b", False, False),
    ("a*b", "a/b", False, False),
    ("[\\]a]", "]", True, False),
    ("[\\-]", "-", True, False),
    ("[x\\-]", "x", True, False),
    ("[x\\-]", "-", True, False),
    ("[x\\-]", "z", False, False),
    ("[\\-x]", "x", True, False),
    ("[\\-x]", "-", True, False),
    ("[\\-x]", "a", False, False),
    ("[]a]", "]", False, True),
    ("[-]", "-", False, True),
    ("[x-]", "x", False, True),
    ("[x-]", "-", False, True),
    ("[x-]", "z", False, True),
    ("[-x]", "x", False, True),
    ("[-x]", "-", False, True),
    ("[-x]", "a", False, True),
    ("\\", "a", False, True),
    ("[a-b-c]", "a", False, True),
    ("[", "a", False, True),
    ("[^", "a", False, True),
    ("[^bc", "a", False, True),
    ("a[", "a", False, False),
    ("a[", "ab", False, True),
    ("*x", "xxx", True, False),
    ("[abc]", "b", True, False),
    ("a/**", "a", False, False),
    ("a/**", "a/b", True, False),
    ("a/**", "a/b/c", True, False),
    ("**/c", "c", True, False),
    ("**/c", "b/c", True, False),
    ("**/c", "a/b/c", True, False),
    ("**/c", "a/b", False, False),
    ("**/c", "abcd", False, False),
    ("**/c", "a/abc", False, False),
    ("a/**/b", "a/b", True, False),
    ("a/**/c", "a/b/c", True, False),
    ("a/**/d", "a/b/c/d", True, False),
    ("a/\\**", "a/b/c", False, False),
    ("a//b/c", "a/b/c", False, False),
    ("a/b/c", "a/b//c", False, False),
    ("a/", "a", False, False),
    ("ab{c,d}", "abc", True, False),
    ("ab{c,d,*}", "abcde", True, False),
    ("ab{c,d}[", "abcd", False, True),
    ("a{,bc}", "a", True, False),
    ("a{,bc}", "abc", True, False),
    ("a/{b/c,c/b}", "a/b/c", True, False),
    ("a/{b/c,c/b}", "a/c/b", True, False),
    ("{a/{b,c},abc}", "a/b", True, False),
    ("{a/{b,c},abc}", "a/c", True, False),
    ("{a/{b,c},abc}", "abc", True, False),
    ("{a/{b,c},abc}", "a/b/c", False, False),
    ("{a/ab*}", "a/abc", True, False),
    ("{a/*}", "a/b", True, False),
    ("{a/abc}", "a/abc", True, False),
    ("{a/b,a/c}", "a/c", True, False),
    ("abc/**", "abc/b", True, False),
    ("**/abc", "abc", True, False),
    ("abc**", "abc/b", False, False),
    ("**/*.txt", "abc/【test】.txt", True, False),
    ("**/【*", "abc/【test】.txt", True, False),
    ("broken-symlink", "broken-symlink", True, False),
    ("working-symlink/c/*", "working-symlink/c/d", True, False),
    ("working-sym*/*", "working-symlink/c", True, False),
    ("b/**/f", "b/symlink-dir/f", True, False),
]

# v1.1.1, commit 85a78806aa1b4707d1dbace9be592cf1ece91ab3, doublestar_test.go `matchTests`. The
# Go test passes path.Join(pattern...) and path.Join(testPath...) to Match; the joined strings are
# transcribed here.
V111_VECTORS: list[tuple[str, str, bool, bool]] = [
    ("abc", "abc", True, False),
    ("*", "abc", True, False),
    ("*c", "abc", True, False),
    ("a*", "a", True, False),
    ("a*", "abc", True, False),
    ("a*", "ab/c", False, False),
    ("a*/b", "abc/b", True, False),
    ("a*/b", "a/c/b", False, False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False, False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False, False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True, False),
    ("a*b?c*x", "abxbbxdbxebxczzy", False, False),
    ("ab[c]", "abc", True, False),
    ("ab[b-d]", "abc", True, False),
    ("ab[e-g]", "abc", False, False),
    ("ab[^c]", "abc", False, False),
    ("ab[^b-d]", "abc", False, False),
    ("ab[^e-g]", "abc", True, False),
    ("a\\*b", "ab", False, False),
    ("a?b", "a☺b", True, False),
    ("a[^a]b", "a☺b", True, False),
    ("a???b", "a☺b", False, False),
    ("a[^a][^a][^a]b", "a☺b", False, False),
    ("[a-ζ]*", "α", True, False),
    ("*[a-ζ]", "A", False, False),
    ("a?b", "a/b", False, False),
    ("a*b", "a/b", False, False),
    ("[\\]a]", "]", True, False),
    ("[\\-]", "-", True, False),
    ("[x\\-]", "x", True, False),
    ("[x\\-]", "-", True, False),
    ("[x\\-]", "z", False, False),
    ("[\\-x]", "x", True, False),
    ("[\\-x]", "-", True, False),
    ("[\\-x]", "a", False, False),
    ("[]a]", "]", False, True),
    ("[-]", "-", False, True),
    ("[x-]", "x", False, True),
    ("[x-]", "-", False, True),
    ("[x-]", "z", False, True),
    ("[-x]", "x", False, True),
    ("[-x]", "-", False, True),
    ("[-x]", "a", False, True),
    ("\\", "a", False, True),
    ("[a-b-c]", "a", False, True),
    ("[", "a", False, True),
    ("[^", "a", False, True),
    ("[^bc", "a", False, True),
    ("a[", "a", False, False),
    ("a[", "ab", False, True),
    ("*x", "xxx", True, False),
    ("[abc]", "b", True, False),
    ("a/**", "a", False, False),
    ("a/**", "a/b", True, False),
    ("a/**", "a/b/c", True, False),
    ("**/c", "c", True, False),
    ("**/c", "b/c", True, False),
    ("**/c", "a/b/c", True, False),
    ("**/c", "a/b", False, False),
    ("**/c", "abcd", False, False),
    ("**/c", "a/abc", False, False),
    ("a/**/b", "a/b", True, False),
    ("a/**/c", "a/b/c", True, False),
    ("a/**/d", "a/b/c/d", True, False),
    ("a/\\**", "a/b/c", False, False),
    ("ab{c,d}", "abc", True, False),
    ("ab{c,d,*}", "abcde", True, False),
    ("ab{c,d}[", "abcd", False, True),
    ("abc/**", "abc/b", True, False),
    ("**/abc", "abc", True, False),
    ("abc**", "abc/b", False, False),
    ("broken-symlink", "broken-symlink", True, False),
    ("working-symlink/c/*", "working-symlink/c/d", True, False),
    ("working-sym*/*", "working-symlink/c", True, False),
    ("b/**/f", "b/symlink-dir/f", True, False),
]

T, F, E = "T", "F", "E"  # match, no match, PatternError

# Library vectors whose outcome differs between the two versions: (pattern, name, v1.3.4, v1.1.1).
VERSION_DIFFS: list[tuple[str, str, str, str]] = [
    ("*", "/", "F", "T"),
    ("/*", "/", "T", "F"),
    ("/*", "/debug/", "F", "T"),
    ("/*", "//", "F", "T"),
    ("a/", "a", "F", "T"),
    ("a{,bc}", "a", "T", "F"),
    ("a/{b/c,c/b}", "a/b/c", "T", "E"),
    ("a/{b/c,c/b}", "a/c/b", "T", "E"),
    ("{a/{b,c},abc}", "a/b", "T", "E"),
    ("{a/{b,c},abc}", "a/c", "T", "E"),
    ("{a/{b,c},abc}", "abc", "T", "E"),
    ("{a/{b,c},abc}", "a/b/c", "F", "E"),
    ("{a/ab*}", "a/abc", "T", "E"),
    ("{a/*}", "a/b", "T", "E"),
    ("{a/abc}", "a/abc", "T", "E"),
    ("{a/b,a/c}", "a/c", "T", "E"),
    ("**/*.txt", "abc/【test】.txt", "T", "F"),
]

# Edge cases and quirks, each run through the real Go code of both versions.
QUIRKS: list[tuple[str, str, str, str]] = [
    ("{a,a/b}", "a", "F", "E"),
    ("{a,a/b}", "a/b", "T", "E"),
    ("*{,}", "ab", "F", "F"),
    ("*{,}", "", "F", "F"),
    ("a***", "a", "F", "F"),
    ("a***", "ab", "T", "T"),
    ("a**", "a", "T", "T"),
    ("*{a*/q,b}", "ab", "F", "F"),
    ("*{a*/q,b}", "ab/q", "T", "F"),
    ("[^]", "x", "T", "T"),
    ("[\\\\]", "\\", "E", "E"),
    ("a/**", "a/", "T", "F"),
    ("", "", "T", "T"),
    ("", "a", "F", "F"),
    ("", "/", "F", "T"),
    ("{nginx,team/app}", "", "E", "F"),
    ("{nginx,team/app}", "team/app", "T", "E"),
    ("{nginx,team/app}", "nginx", "T", "E"),
    ("{nginx,team/app}", "team", "F", "E"),
    ("a{x/y,}", "a", "E", "F"),
    ("a{x/y,}", "ax/y", "T", "E"),
    ("[z-a]", "m", "F", "F"),
    ("[^z-a]", "m", "T", "T"),
    ("a\\", "a", "F", "F"),
    ("a\\", "b", "F", "F"),
    ("*x", "☺ax", "T", "F"),
    ("*x", "a☺x", "T", "T"),
    ("{a,}", "a", "T", "T"),
    ("{a,}", "", "T", "F"),
    ("*", "a\\/b", "T", "T"),
    ("a\\/b", "a/b", "F", "F"),
    ("\\*", "*", "T", "T"),
    ("\\*", "a", "F", "F"),
    ("{**/a,b}", "x/a", "T", "E"),
    ("{**/a,b}", "x/y/a", "F", "E"),
    ("{a/**,b}", "a/x/y", "T", "E"),
    ("x/{**,y}/z", "x/p/q/z", "F", "F"),
    ("x/{**,y}/z", "x/p/z", "T", "T"),
    ("**/[", "a", "F", "F"),
    ("**/[", "a/b", "F", "F"),
    ("*[", "ab", "E", "F"),
    ("*x[", "ab", "F", "F"),
    ("{a,[}", "a", "E", "T"),
    ("{a/x,a/[}", "a/x", "T", "E"),
    ("{a/x,a/[}", "a/y", "E", "E"),
    ("[!x]", "!", "T", "T"),
    ("[!x]", "x", "T", "T"),
    ("[!x]", "y", "F", "F"),
    ("[]a]", "a", "E", "E"),
    ("[]", "a", "E", "E"),
    ("[]", "", "F", "F"),
    ("v[1", "x1", "F", "F"),
    ("v[1", "v1", "E", "E"),
    ("v[1", "v", "F", "F"),
    ("release-**", "release-1/2", "F", "F"),
    ("release-**", "release-1", "T", "T"),
    ("abc**", "abc", "T", "T"),
    ("team/**", "team", "F", "F"),
    ("team/**", "team/a/b", "T", "T"),
    ("team/*", "team/sub/app", "F", "F"),
    ("*", "team/app", "F", "F"),
    ("**", "team/app", "T", "T"),
    ("*", "nginx", "T", "T"),
    ("{a/b,c}", "c", "T", "E"),
    ("{a/b,c}", "a/b", "T", "E"),
    ("a/{x,y}", "a/y", "T", "T"),
    ("a{b,c}d{e,f}", "acdf", "T", "T"),
    ("{a,b}{,c}", "b", "T", "F"),
    ("{}", "", "T", "F"),
    ("{}", "a", "F", "F"),
    ("{,}", "", "T", "F"),
    ("a/", "a/", "T", "T"),
    ("/", "/", "T", "T"),
    ("/", "", "F", "T"),
    ("**", "", "T", "T"),
    ("**", "/", "T", "T"),
    ("a/**/b", "a//b", "T", "T"),
    ("\\a", "a", "T", "T"),
    ("[\\-a]", "-", "T", "T"),
    ("[a\\]", "a", "E", "E"),
    ("*/", "a", "F", "T"),
    ("?", "/", "F", "F"),
    ("?", "☺", "T", "T"),
    ("a?", "a", "F", "F"),
    ("{a,b", "a", "E", "E"),
    ("{a,b", "c", "E", "E"),
    ("a{", "a", "E", "F"),
    ("a{", "b", "F", "F"),
    ("[a-", "a", "E", "E"),
    ("ab\\", "ab", "F", "F"),
    ("ab\\", "ac", "F", "F"),
    ("a[]", "a", "F", "F"),
    ("a[]", "ab", "E", "E"),
    ("x*{,y}", "x", "F", "F"),
    ("x*{,y}", "xy", "T", "T"),
    ("x*{,y}", "xz", "F", "F"),
]


def interpreted(pattern: str, name: str, *, v111: bool = False) -> str:
    try:
        return T if match(pattern, name, v111=v111) else F
    except PatternError:
        return E


def compiled(pattern: str, name: str, *, v111: bool = False) -> str:
    matcher = compile_pattern(pattern, v111=v111)
    try:
        return T if matcher(name) else F
    except PatternError:
        return E


def expected(should_match: bool, bad_pattern: bool) -> str:
    return E if bad_pattern else T if should_match else F


@pytest.mark.parametrize(("pattern", "name", "should_match", "bad"), V134_VECTORS)
def test_v134_library_vectors(pattern: str, name: str, should_match: bool, bad: bool) -> None:
    want = expected(should_match, bad)
    assert interpreted(pattern, name) == want
    assert compiled(pattern, name) == want


@pytest.mark.parametrize(("pattern", "name", "should_match", "bad"), V111_VECTORS)
def test_v111_library_vectors(pattern: str, name: str, should_match: bool, bad: bool) -> None:
    want = expected(should_match, bad)
    assert interpreted(pattern, name, v111=True) == want
    assert compiled(pattern, name, v111=True) == want


@pytest.mark.parametrize(("pattern", "name", "want134", "want111"), VERSION_DIFFS + QUIRKS)
def test_against_go(pattern: str, name: str, want134: str, want111: str) -> None:
    assert interpreted(pattern, name) == want134
    assert compiled(pattern, name) == want134
    assert interpreted(pattern, name, v111=True) == want111
    assert compiled(pattern, name, v111=True) == want111


# RETENTION.md section 3.5, the dialect Harbor >= v2.10.3 uses.
RETENTION_CASES = [
    ("*", "nginx", T),
    ("*", "team/app", F),
    ("**", "team/app", T),
    ("team/*", "team/app", T),
    ("team/*", "team/sub/app", F),
    ("team/**", "team/sub/app", T),
    ("team/**", "team", F),
    ("**/c", "c", T),
    ("**/c", "a/b/c", T),
    ("{nginx,team/app}", "team/app", T),
    ("{nginx,team/app}", "nginx", T),
    ("{nginx,team/app}", "team", F),
    ("release-**", "release-1.0", T),
    ("release-**", "release-1.0/x", F),
    ("abc**", "abc/b", F),
    ("[!x]", "!", T),
    ("[!x]", "x", T),
    ("[!x]", "y", F),
    ("[^x]", "y", T),
    ("[^x]", "x", F),
    ("[]a]", "]", E),
    ("[-]", "-", E),
    ("[x-]", "x", E),
    ("[]", "a", E),
    ("[]", "", F),  # an empty name never reaches the class
    ("a{,bc}", "a", T),
    ("a{,bc}", "abc", T),
    ("a{,bc}", "ab", F),
    ("{a,{b,c}}", "c", T),  # nested braces
    ("\\c", "c", T),
    ("\\*", "*", T),
    ("\\*", "x", F),
    ("v[1", "x1", F),  # lazy: the class is never reached
    ("v[1", "v", F),
    ("v[1", "v1", E),
    ("A/{x,y}", "A/y", T),
    ("?", "/", F),
    ("NGINX", "nginx", F),  # case-sensitive
    ("ngin", "nginx", F),  # anchored
]


@pytest.mark.parametrize(("pattern", "name", "want"), RETENTION_CASES)
def test_retention_dialect(pattern: str, name: str, want: str) -> None:
    assert interpreted(pattern, name) == want
    assert compiled(pattern, name) == want


@pytest.mark.parametrize(
    ("pattern", "name"),
    [("{a/b,c}", "c"), ("{x,team/app}", "team/app"), ("{nginx,team/app}", "nginx")],
)
def test_v111_rejects_slash_in_braces(pattern: str, name: str) -> None:
    # Harbor issue #14259: these fail the retention run on Harbor <= v2.10.2.
    assert interpreted(pattern, name) == T
    assert interpreted(pattern, name, v111=True) == E
    assert compiled(pattern, name, v111=True) == E


def test_empty_pattern_is_the_librarys_not_harbors() -> None:
    # Harbor's "empty pattern selects everything" is applied by its selector, not by doublestar.
    assert match("", "")
    assert not match("", "nginx")
    assert not compile_pattern("")("latest")


def test_pattern_error() -> None:
    with pytest.raises(PatternError, match="^syntax error in pattern$"):
        match("[", "a")
    assert issubclass(PatternError, ValueError)


def test_compile_is_lazy_about_errors() -> None:
    matcher = compile_pattern("v[1")  # compiling a malformed pattern never raises
    assert matcher("x1") is False
    with pytest.raises(PatternError):
        matcher("v1")
    with pytest.raises(PatternError):
        matcher("v1")  # errors are not memoised away


REALISTIC = ["*", "**", "latest", "release-*", "v[0-9]*", "v1.?.*", "{a,b}", "{a,b}*"]
REALISTIC += ["*{dev,prod}", "*-dev/**", "team/*", "team/**", "**/app", "library/{a,b}"]
REALISTIC += ["[!x]", "a{,bc}", "\\c", ""]
SLASH_IN_BRACES = ["{nginx,team/app}", "{nginx,team/*}"]  # v1.1.1: errors, so interpreted


@pytest.mark.parametrize("pattern", REALISTIC + SLASH_IN_BRACES)
def test_realistic_patterns_take_the_regex_path(pattern: str) -> None:
    assert ds._translate(pattern) is not None
    assert (ds._translate(pattern, v111=True) is None) == (pattern in SLASH_IN_BRACES)


def test_names_with_backslashes_use_the_interpreter() -> None:
    # Go's name splitter treats "\/" as part of a component, so '*' matches across it.
    assert compile_pattern("*")("a\\/b")
    assert compile_pattern("*", v111=True)("a\\/b")
    assert not compile_pattern("a/*")("a\\/b")


def test_v111_star_steps_bytes() -> None:
    # v1.1.1 advances '*' by the byte width of the rune it started on, so it can skip the match.
    assert not match("**/*.txt", "abc/\u3010test\u3011.txt", v111=True)
    assert not compile_pattern("*x", v111=True)("\u263aax")
    assert compile_pattern("*x")("\u263aax")


PATTERN_ALPHABET = ["a", "b", "/", "*", "?", "[", "]", "{", "}", ",", "^", "-", "\\", "**", "!"]
NAME_ALPHABET = ["a", "b", "/", "-", "^", "!", ",", "{", "]", "*", "\\", "\u263a", ""]


def random_pattern(rng: random.Random, depth: int = 0) -> str:
    """Mostly well-formed patterns, so that the regex path gets exercised too."""
    out = []
    for _ in range(rng.randint(0, 3 if depth else 6)):
        r = rng.random()
        if r < 0.15:
            out.append(rng.choice(PATTERN_ALPHABET))
        elif r < 0.25:
            out.append(
                rng.choice(["[ab]", "[^a]", "[a-b]", "[!a]", "[\\]a]", "[^]", "[b-a]", "[/]"])
            )
        elif r < 0.35 and depth < 2:
            options = [random_pattern(rng, depth + 1) for _ in range(rng.randint(1, 3))]
            out.append("{" + ",".join(options) + "}")
        else:
            out.append(rng.choice(["a", "b", "*", "**", "?", "/", "-", "\\*", "\\/"]))
    return "".join(out)


@pytest.mark.parametrize("v111", [False, True])
def test_compiled_equals_interpreted(v111: bool) -> None:
    rng = random.Random(20240611)
    names = [
        "".join(rng.choice(NAME_ALPHABET) for _ in range(rng.randint(0, 6))) for _ in range(400)
    ]
    names += ["a", "b", "ab", "a/b", "a/", "/a", "", "/", "a//b", "aa/bb/ab"]
    translated = cases = 0
    for _ in range(2500):
        if rng.random() < 0.5:
            pattern = "".join(rng.choice(PATTERN_ALPHABET) for _ in range(rng.randint(0, 8)))
        else:
            pattern = random_pattern(rng)
        matcher = compile_pattern(pattern, v111=v111)
        translated += ds._translate(pattern, v111=v111) is not None
        for name in rng.sample(names, 12):
            cases += 1
            try:
                want: object = match(pattern, name, v111=v111)
            except PatternError:
                want = PatternError
            try:
                got: object = matcher(name)
            except PatternError:
                got = PatternError
            assert got == want, (pattern, name)
    assert cases == 30_000
    assert translated > 800  # the regex path must be what is being compared


# -- patterns that are huge on purpose (a policy from a merge request) ---------------------
# Go's doublestar recurses once per `**/` segment and per star, and retries the same
# sub-matches for every way of splitting the name: a pattern of 1,000 `**/` segments took
# the interpreter past Python's recursion limit, 400 of them took the regex exponential
# time on `a/a/.../b`. Harbor would evaluate them; so does harborguard, iteratively and
# memoised, with the answer of the short pattern they equal (checked on the recursive
# port for 2 to 6 repeats, where it is still fast).

HUGE_NAMES = ["1.0", "x", "ax", "a/b/c", "a/x", "a/" * 30 + "b", "a/" * 30, "", "/", "a/b/"]


def outcome(matcher: object, name: str) -> object:
    try:
        return matcher(name)  # type: ignore[operator]
    except PatternError:
        return PatternError


@pytest.mark.parametrize("v111", [False, True])
@pytest.mark.parametrize("tail", ["", "x*", "**", "x"])
@pytest.mark.parametrize("repeats", [400, 1000])
def test_hundreds_of_doublestar_segments_match_like_one(v111: bool, tail: str,
                                                         repeats: int) -> None:
    huge = compile_pattern("**/" * repeats + tail, v111=v111)
    short = compile_pattern("**/" + tail, v111=v111)
    for name in HUGE_NAMES:
        assert outcome(huge, name) == outcome(short, name), name
        assert outcome(lambda n: match("**/" * repeats + tail, n, v111=v111), name) == \
            outcome(short, name), name


@pytest.mark.parametrize("v111", [False, True])
def test_hundreds_of_stars_in_one_component_match_like_two(v111: bool) -> None:
    huge = compile_pattern("*" * 400 + "x", v111=v111)
    short = compile_pattern("**x", v111=v111)
    for name in [*HUGE_NAMES, "a" * 40, "a" * 40 + "x"]:
        assert outcome(huge, name) == outcome(short, name), name


def test_hundreds_of_nested_braces_are_read() -> None:
    pattern = "{a," * 400 + "b*" + "}" * 400
    matcher = compile_pattern(pattern)
    assert [outcome(matcher, n) for n in ("a", "bcd", "c")] == [True, True, False]
    # v1.1.1 closes a brace at the first '}' (no nesting): from 3 levels on, nothing
    # matches (the recursive port's answer for 3 and 5 levels).
    matcher = compile_pattern(pattern, v111=True)
    assert [outcome(matcher, n) for n in ("a", "bcd", "c")] == [False, False, False]
