"""The two output styles: plain text (Unicode) and LaTeX (amsmath).

Everything that differs between them is a method here; the renderers above
build the same structure in both.  LaTeX names are typeset as a reader
expects: ``alpha0`` → ``\\alpha_0``, ``Lambda`` → ``\\Lambda``, ``W0`` → ``W_0``,
longer words upright (``\\mathrm{doc}``).
"""
from __future__ import annotations

import re
from fractions import Fraction

GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi "
         "rho sigma tau upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
         "Upsilon Phi Psi Omega").split()
UNICODE_GREEK = dict(zip("αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΥΦΨΩ",
                         [rf"\{g}" for g in GREEK]))
VULGAR = {Fraction(1, 2): "½", Fraction(1, 3): "⅓", Fraction(1, 4): "¼",
          Fraction(3, 4): "¾", Fraction(2, 3): "⅔"}


class Text:
    latex = False
    T, INV, SQ = "ᵀ", "⁻¹", "²"

    def name(self, var: str) -> str:
        return var

    def index(self, base: str, labels) -> str:
        return f"{base}[{','.join(labels)}]" if labels else base

    def E(self, x: str) -> str:
        return f"E[{x}]"

    def q(self, x: str) -> str:
        return f"q({x})"

    def indicator(self, left: str, right: str) -> str:
        return f"[{left} = {right}]"

    def sigma(self, labels, conditions=()) -> str:
        inner = ",".join(labels)
        if conditions:
            inner += ": " + ", ".join(conditions)
        return f"Σ_{inner} " if len(inner) == 1 else f"Σ_{{{inner}}} "

    def count(self, labels, conditions) -> str:
        return f"|{{{','.join(labels)}: {', '.join(conditions)}}}|"

    def frac(self, num: str, den: str, simple_num=False, simple_den=False) -> str:
        num = num if simple_num else f"({num})"
        den = den if simple_den else f"({den})"
        return f"{num} / {den}"

    def number(self, c: Fraction) -> str:
        if c.denominator == 1:
            return str(c.numerator)
        return VULGAR.get(c, f"{c.numerator}/{c.denominator}")

    def prefix(self, c: Fraction) -> str:
        """A positive rational multiplying something."""
        if c == 1:
            return ""
        if c.denominator == 1:
            return f"{c.numerator} "
        return VULGAR.get(c, f"({c.numerator}/{c.denominator})") + " "

    def over(self, top: str, c: Fraction) -> str:
        """``c × top`` for a product of dims: N/2, 3D/2."""
        num = top if c.numerator == 1 else f"{c.numerator}{top}"
        return num if c.denominator == 1 else f"{num}/{c.denominator}"

    def paren(self, x: str) -> str:
        return f"({x})"

    def func(self, f: str, x: str) -> str:
        words = {"log": "log ", "digamma": "ψ", "lgamma": "log Γ", "tr": "tr ", "exp": "exp ",
                 "diag": "diag", "Var": "Var"}
        if f in ("log", "tr", "exp") and re.fullmatch(r"[\w\[\],.ᵀ]+", x):
            return words[f] + x
        return words[f].strip() + f"({x})"

    def logdet(self, x: str) -> str:
        return f"log|{x}|"

    def const(self, which: str) -> str:
        return {"log2pi": "log 2π", "log2": "log 2", "logpi": "log π"}[which]

    def symbol(self, letter: str, owner: str | None) -> str:
        return letter if owner is None else f"{letter}_{owner}"

    def atomic(self, x: str) -> bool:
        """x needs no parentheses before a superscript."""
        return text_atomic(x)

    def inverse(self, x: str) -> str:
        return (x if self.atomic(x) else self.paren(x)) + self.INV

    def transpose(self, x: str) -> str:
        return (x if self.atomic(x) else self.paren(x)) + self.T

    def square(self, x: str) -> str:
        return (x if self.atomic(x) else self.paren(x)) + self.SQ

    def text(self, words: str) -> str:
        return words

    def minus(self) -> str:
        return "−"

    def decimal(self, x: float) -> str:
        """A number the model wrote as a float, as short as Python writes it
        (0.5, 0.25) or in powers of ten where that is shorter: 1e-4 and 0.001
        print 1e-4 and 1e-3 (the model's own spelling is not kept by the parser)."""
        mantissa, power = scientific(x)
        plain = repr(float(x))
        if power is None or len(plain) <= len(f"{mantissa}e{power}"):
            return plain
        return self.power(mantissa, power)

    def power(self, mantissa: str, power: int) -> str:
        return f"{mantissa}e{power}"


class Latex(Text):
    latex = True
    T, INV, SQ = r"^\top", "^{-1}", "^2"

    def power(self, mantissa: str, power: int) -> str:
        ten = f"10^{{{power}}}"
        return ten if mantissa == "1" else rf"{mantissa} \cdot {ten}"

    def name(self, var: str) -> str:
        m = re.fullmatch(r"([A-Za-z]+|[^\W\d_])_?(\d*)", var)
        if m:
            word, digits = m.groups()
            if word in GREEK:
                base = "\\" + word
            elif word in UNICODE_GREEK:
                base = UNICODE_GREEK[word]
            elif len(word) == 1 and word.isascii():
                base = word
            else:
                base = None
            if base is not None:
                return base + (f"_{{{digits}}}" if digits else "")
        return r"\mathrm{" + escape(var) + "}"

    def index(self, base: str, labels) -> str:
        if not labels:
            return base
        sep = "" if all(len(l) == 1 for l in labels) else ","
        if "_" in base:  # alpha_0 indexed by k: {\alpha_{0}}_{k}
            base = "{" + base + "}"
        return f"{base}_{{{sep.join(labels)}}}"

    def E(self, x: str) -> str:
        return rf"\mathbb{{E}}[{x}]"

    def indicator(self, left: str, right: str) -> str:
        return rf"[{left} = {right}]"

    def sigma(self, labels, conditions=()) -> str:
        inner = ",".join(labels)
        if conditions:
            inner += r" : " + ", ".join(conditions)
        return rf"\sum_{{{inner}}} "

    def count(self, labels, conditions) -> str:
        return rf"\lvert\{{{','.join(labels)} : {', '.join(conditions)}\}}\rvert"

    def frac(self, num: str, den: str, simple_num=False, simple_den=False) -> str:
        return rf"\frac{{{num}}}{{{den}}}"

    def number(self, c: Fraction) -> str:
        if c.denominator == 1:
            return str(c.numerator)
        return rf"\frac{{{c.numerator}}}{{{c.denominator}}}"

    def prefix(self, c: Fraction) -> str:
        if c == 1:
            return ""
        return self.number(c) + " "

    def over(self, top: str, c: Fraction) -> str:
        num = top if c.numerator == 1 else f"{c.numerator} {top}"
        return num if c.denominator == 1 else rf"\frac{{{num}}}{{{c.denominator}}}"

    def paren(self, x: str) -> str:
        return rf"\left({x}\right)"

    def func(self, f: str, x: str) -> str:
        words = {"log": r"\log", "digamma": r"\psi", "lgamma": r"\log\Gamma",
                 "tr": r"\operatorname{tr}", "exp": r"\exp", "diag": r"\operatorname{diag}"}
        return rf"{words[f]}\left({x}\right)" if " " in x or f in ("digamma", "lgamma") \
            else rf"{words[f]} {x}"

    def logdet(self, x: str) -> str:
        return rf"\log\lvert {x}\rvert"

    def const(self, which: str) -> str:
        return {"log2pi": r"\log 2\pi", "log2": r"\log 2", "logpi": r"\log \pi"}[which]

    def symbol(self, letter: str, owner: str | None) -> str:
        base = {"ν": r"\nu", "α": r"\alpha", "γ": r"\gamma", "λ": r"\lambda",
                "ω": r"\omega", "ρ": r"\rho", "β": r"\beta"}.get(letter, letter)
        return base if owner is None else rf"{base}^{{({self.name(owner)})}}"

    def atomic(self, x: str) -> bool:
        return latex_atomic(x)

    def text(self, words: str) -> str:
        return r"\text{" + escape(words) + "}"

    def minus(self) -> str:
        return "-"


def scientific(x: float):
    """(mantissa, exponent) of x's shortest round-trip form in powers of ten;
    (None, None) for 0, inf and nan."""
    x = float(x)
    if x == 0 or x != x or abs(x) == float("inf"):
        return None, None
    for places in range(17):  # the fewest digits that give x back (17 always do)
        text = f"{x:.{places}e}"
        if float(text) == x:
            break
    mantissa, power = text.split("e")
    return mantissa, int(power)


def text_atomic(x: str) -> bool:
    """A name (x̄ too), an indexed name or one E[...]: no parentheses needed."""
    return bool(re.fullmatch(r"[\w.]+\u0304?(\[[^ ]*\])?", x)) or one_group(x, "E[")


def latex_atomic(x: str) -> bool:
    """A name, an indexed name or one \\mathbb{E}[...]: no parentheses needed."""
    return bool(re.fullmatch(r"([\w\\,]|\{([\w\\,+\-]|\{[\w\\,+\-]*\})*\})+", x)) or \
        one_group(x, r"\mathbb{E}[")  # x_{t-1} too: a brace group may hold t-1


def one_group(x: str, head: str) -> bool:
    """x is ``head … ]`` with the bracket opened by head closed only at the end."""
    if x.startswith(head) and x.endswith("]"):
        depth = 0
        for i, ch in enumerate(x[len(head) - 1:], len(head) - 1):
            depth += {"[": 1, "]": -1}.get(ch, 0)
            if depth == 0 and i != len(x) - 1:
                return False
        return True
    return False


def escape(word: str) -> str:
    out = []
    for ch in word:
        if ch in "_&%$#{}":
            out.append("\\" + ch)
        elif ch in UNICODE_GREEK:
            out.append("}" + UNICODE_GREEK[ch] + r"\mathrm{")
        elif not ch.isascii():
            out.append(f"u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


STYLES = {"text": Text(), "latex": Latex()}
