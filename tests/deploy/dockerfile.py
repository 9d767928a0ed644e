"""Reads a Dockerfile the way the builder does, for the tests (no engine here): instructions with their
continuation lines joined, comments dropped, and the ``ARG`` defaults substituted where asked."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


@dataclass(frozen=True)
class Dockerfile:
    instructions: list[tuple[str, str]]

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        instructions, pending = [], ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue  # the builder drops comment lines, also inside a continued instruction
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            keyword, _, rest = (pending + line).partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
            pending = ""
        return cls(instructions)

    def all(self, keyword: str) -> list[str]:
        return [self.substitute(rest) for kw, rest in self.instructions if kw == keyword]

    @property
    def args(self) -> dict[str, str]:
        defaults = {}
        for keyword, rest in self.instructions:
            if keyword == "ARG":
                name, _, value = rest.partition("=")
                defaults[name] = value
        return defaults

    def substitute(self, text: str) -> str:
        args = self.args
        return _VARIABLE.sub(lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)

    @property
    def env(self) -> dict[str, str]:
        values = {}
        for rest in self.all("ENV"):
            for token in shlex.split(rest):
                name, _, value = token.partition("=")
                values[name] = value
        return values

    @property
    def apt_packages(self) -> set[str]:
        packages = set()
        for command in self.all("RUN"):
            for part in re.split(r"&&|;", command):
                words = part.split()
                if words[:2] == ["apt-get", "install"]:
                    packages |= {w for w in words[2:] if not w.startswith("-")}
        return packages

    @property
    def user(self) -> str:
        return self.all("USER")[-1]
