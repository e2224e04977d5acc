"""Korean for the theme's interface strings that Sphinx, pydata-sphinx-theme and sphinx-book-theme leave
in English (or translate badly) when ``language: ko``.

The overrides sit in front of every registered message catalog, so they win over the themes' own
Korean entries (e.g. sphinx-book-theme renders "By" as "으로" and "Launch" as "시작하다").
"""
from __future__ import annotations

import gettext

from sphinx.application import Sphinx
from sphinx.locale import translators

UI_KO = {
    # pydata-sphinx-theme / Sphinx
    "Skip to main content": "본문으로 건너뛰기",
    "Back to top": "맨 위로",
    "Site navigation": "사이트 탐색",
    "Color mode": "화면 색상",
    "Light": "밝게",
    "Dark": "어둡게",
    "System Settings": "시스템 설정 따르기",
    "Version warning": "버전 안내",
    "Link to this heading": "이 제목으로 바로 가는 링크",
    "Link to this definition": "이 정의로 바로 가는 링크",
    "Link to this image": "이 그림으로 바로 가는 링크",
    "Link to this table": "이 표로 바로 가는 링크",
    "Link to this code": "이 코드로 바로 가는 링크",
    "Link to this term": "이 용어로 바로 가는 링크",
    "Link to this equation": "이 수식으로 바로 가는 링크",
    "Link to this toctree": "이 목차로 바로 가는 링크",
    "Main": "본문",
    "Announcement": "알림",
    "Breadcrumb": "현재 위치",
    "Collapse Sidebar": "사이드바 접기",
    "Expand Sidebar": "사이드바 펼치기",
    "Home": "처음",
    "Indices": "색인",
    "General Index": "전체 색인",
    "Global Module Index": "모듈 색인",
    "Python Module Index": "파이썬 모듈 색인",
    "Show Source": "원본 보기",
    "Section Navigation": "이 부분의 목차",
    "On this page": "이 페이지의 내용",
    "Search": "검색",
    "Search Results": "검색 결과",
    "Search the docs ...": "이 책에서 검색...",
    "Please activate JavaScript to enable the search functionality.": "검색하려면 브라우저에서 자바스크립트를 켜 주세요.",
    "© Copyright %(copyright)s.": "© %(copyright)s.",
    "Copyright %(copyright)s": "%(copyright)s",
    "Created using %(sphinx_version)s.": "%(sphinx_version)s(으)로 만들었습니다.",
    "Last updated on %(last_updated)s.": "마지막 수정: %(last_updated)s",
    # sphinx-book-theme (catalog 'booktheme')
    "By": "지은이:",
    "By the": "지은이:",
    "Contents": "목차",
    "Download notebook file": "노트북 파일(.ipynb) 내려받기",
    "Download source file": "원본 파일 내려받기",
    "Download this page": "이 페이지 내려받기",
    "Edit this page": "이 페이지 고치기",
    "Fullscreen mode": "전체 화면",
    "Launch": "실행",
    "Launch interactive content": "실행 환경에서 열기",
    "Launch on": "실행 환경:",
    "logo": "로고",
    "Open an issue": "이슈 열기",
    "Print to PDF": "PDF로 인쇄",
    "Source repository": "소스 저장소",
    "Toggle navigation": "목차 열고 닫기",
    "next page": "다음 페이지",
    "previous page": "이전 페이지",
    "repository": "저장소",
    "open issue": "이슈 열기",
}


class Overrides(gettext.NullTranslations):
    """A catalog that answers from ``messages`` and defers everything else to its fallback."""

    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self.messages = messages

    def gettext(self, message: str) -> str:
        if message in self.messages:
            return self.messages[message]
        return super().gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        if n == 1 and msgid1 in self.messages:
            return self.messages[msgid1]
        return super().ngettext(msgid1, msgid2, n)


def install(app: Sphinx) -> None:
    """Put the overrides in front of every loaded catalog (run on builder-inited, after the themes load)."""
    if not (app.config.language or "").startswith("ko"):
        return
    for key, catalog in list(translators.items()):
        if isinstance(catalog, Overrides):
            continue
        wrapped = Overrides(UI_KO)
        wrapped.add_fallback(catalog)
        translators[key] = wrapped
        if catalog is app.translator:
            app.translator = wrapped
    templates = getattr(app.builder, "templates", None)
    if templates is not None and hasattr(templates, "environment"):
        templates.environment.install_gettext_translations(app.translator)
