"""The written documents as PDFs. The confirmation of a payment arrangement: who is who, what is owed, the
schedule, how to pay and how to change the plan, plus the notices French law requires (CPCE R124-4). The
answer to a dispute: the decision, why, and the facts of the debt. Every label comes from the translation
catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from api.i18n import format_date, format_money, t

# Debian's fonts-dejavu-core: a Unicode font, so "€", accents and Babel's narrow no-break spaces render.
DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONT = "DejaVuSans"
_LINE = 5.5  # mm, body line height


@dataclass(frozen=True, kw_only=True)
class WrittenDocument:
    """What every written document carries: its number and language, who writes for whom to whom about which
    file, how to pay, and the account's legal facts (api/services/presentation.py `document_heading` fills it)."""

    language: str  # "fr" | "en"
    confirmation_number: str  # e.g. "CONF-2026-000042"
    account_reference: str
    creditor_name: str
    creditor_address: str
    collector_name: str
    collector_address: str
    debtor_name: str
    currency: str
    payment_methods: tuple[str, ...]  # already-translated lines, e.g. "Bank transfer to IBAN FR76 ..."
    issued_at: datetime
    # The L111-8 notice is owed to debtors of French accounts whatever their language; None: French documents.
    french_law_notice: bool | None = None
    # Of what is owed before charges, the interest (shown apart, CPCE R124-4), and the basis of the debt.
    interest_minor: int = 0
    origin: str = ""


@dataclass(frozen=True, kw_only=True)
class ConfirmationDocument(WrittenDocument):
    principal_minor: int
    fees_minor: int
    fees_waived_minor: int
    discount_minor: int
    total_minor: int
    instalments: tuple[tuple[date, int], ...]  # (due_date, amount_minor)
    change_plan_instructions: str  # already-translated


def render_confirmation_pdf(doc: ConfirmationDocument, font_dir: Path = DEFAULT_FONT_DIR) -> bytes:
    _check_figures(doc)
    pdf = _ConfirmationPDF(doc, font_dir)
    _write_header(pdf, doc)
    _write_parties(pdf, doc)
    if doc.origin:
        _write_section(pdf, t("notice.basis", doc.language), doc.origin)
    _write_breakdown(pdf, doc)
    _write_schedule(pdf, doc)
    _write_section(pdf, t("confirmation.how_to_pay", doc.language), "\n".join(doc.payment_methods))
    _write_section(pdf, t("confirmation.change_plan", doc.language), doc.change_plan_instructions)
    if _owes_french_notice(doc):
        lang = doc.language
        _write_section(pdf, t("confirmation.legal_l111_8_title", lang), t("confirmation.legal_l111_8", lang))
    return bytes(pdf.output())


@dataclass(frozen=True, kw_only=True)
class DisputeAnswerDocument(WrittenDocument):
    """The written answer to a dispute: the decision, why, and the facts of the debt it rests on."""

    disputed_on: date
    outcome: str  # upheld | rejected
    explanation: str
    principal_minor: int  # before any correction (interest included)
    fees_minor: int
    due_date: date
    corrected_principal_minor: int | None  # upheld with a corrected amount
    closed_account: bool  # upheld: nothing is owed any more


@dataclass(frozen=True, kw_only=True)
class NoticeDocument(WrittenDocument):
    """The first written notice (CPCE R124-4): who collects for whom, the basis of the debt, what is owed split
    into principal, interest and other charges, the request to pay and how, and for French accounts the
    L111-8 paragraph, in the debtor's language. Its number is quoted by later messages."""

    balance_minor: int  # interest included
    fees_minor: int
    due_date: date


def render_notice_pdf(doc: NoticeDocument, font_dir: Path = DEFAULT_FONT_DIR) -> bytes:
    lang = doc.language
    rows = _amounts(doc.balance_minor, doc.interest_minor, doc.fees_minor)
    pdf = _ConfirmationPDF(doc, font_dir, title=t("notice.title", lang))
    _write_header(pdf, doc, title=t("notice.title", lang))
    _write_parties(pdf, doc)
    basis = doc.origin or t("notice.basis_unknown", lang, creditor=doc.creditor_name)
    _write_section(pdf, t("notice.basis", lang), f"{basis}\n{t('notice.due_since', lang, date=format_date(doc.due_date, lang))}")
    _write_heading(pdf, t("confirmation.breakdown", lang))
    pdf.set_font(_FONT, size=10)
    with pdf.table(col_widths=(3, 1), text_align=("LEFT", "RIGHT"), first_row_as_headings=False) as table:
        for key, minor in rows:
            table.row((t(key, lang), format_money(minor, doc.currency, lang)))
        total = table.row()
        total.cell(t("confirmation.total", lang), style=FontFace(emphasis="BOLD"))
        total.cell(format_money(doc.balance_minor + doc.fees_minor, doc.currency, lang), style=FontFace(emphasis="BOLD"))
    _write_section(pdf, t("notice.request", lang), t("notice.request_text", lang))
    _write_section(pdf, t("confirmation.how_to_pay", lang), "\n".join(doc.payment_methods))
    if _owes_french_notice(doc):
        _write_section(pdf, t("confirmation.legal_l111_8_title", lang), t("confirmation.legal_l111_8", lang))
    return bytes(pdf.output())


def render_dispute_answer_pdf(doc: DisputeAnswerDocument, font_dir: Path = DEFAULT_FONT_DIR) -> bytes:
    lang = doc.language

    def money(minor: int) -> str:
        return format_money(minor, doc.currency, lang)

    pdf = _ConfirmationPDF(doc, font_dir, title=t("dispute_answer.title", lang))
    _write_header(pdf, doc, title=t("dispute_answer.title", lang))
    _write_parties(pdf, doc)
    _write_section(
        pdf,
        t("dispute_answer.your_dispute", lang),
        t("dispute_answer.received_on", lang, date=format_date(doc.disputed_on, lang)),
    )
    decision = t(f"dispute_answer.{doc.outcome}", lang)
    _write_section(pdf, t("dispute_answer.decision", lang), f"{decision}\n\n{doc.explanation}")
    facts = [
        (t("dispute_answer.origin", lang), doc.origin or "—"),
        *((t(key, lang), money(minor)) for key, minor in _amounts(doc.principal_minor, doc.interest_minor, doc.fees_minor)),
        (t("dispute_answer.due_since", lang), format_date(doc.due_date, lang)),
    ]
    _write_heading(pdf, t("dispute_answer.facts", lang))
    pdf.set_font(_FONT, size=10)
    with pdf.table(col_widths=(3, 2), text_align=("LEFT", "RIGHT"), first_row_as_headings=False) as table:
        for label, value in facts:
            table.row((label, value))
    if doc.outcome == "upheld":
        if doc.closed_account:
            after = t("dispute_answer.closed", lang)
        elif doc.corrected_principal_minor is not None:
            after = t(
                "dispute_answer.corrected", lang, before=money(doc.principal_minor), after=money(doc.corrected_principal_minor)
            )
        else:
            after = t("dispute_answer.upheld_unchanged", lang)
        _write_section(pdf, t("dispute_answer.what_changes", lang), after)
    if not doc.closed_account:
        _write_section(pdf, t("confirmation.how_to_pay", lang), "\n".join(doc.payment_methods))
        _write_section(pdf, t("dispute_answer.next_steps", lang), t("dispute_answer.next_steps_text", lang))
    if _owes_french_notice(doc):
        _write_section(pdf, t("confirmation.legal_l111_8_title", lang), t("confirmation.legal_l111_8", lang))
    return bytes(pdf.output())


class _ConfirmationPDF(FPDF):
    def __init__(self, doc: WrittenDocument, font_dir: Path, title: str | None = None) -> None:
        super().__init__(format="A4")
        self._doc = doc
        for style, file_name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
            font_path = Path(font_dir) / file_name
            if not font_path.is_file():
                raise FileNotFoundError(f"{font_path} is missing: install fonts-dejavu-core or pass font_dir")
            self.add_font(_FONT, style, str(font_path))
        # Dated by the document, not by the clock, so the same confirmation always renders to the same bytes.
        self.set_creation_date(doc.issued_at)
        self.set_lang(doc.language)
        self.set_title(title or t("confirmation.title", doc.language))
        self.set_author(doc.collector_name)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, size=8)
        doc = self._doc
        number = doc.confirmation_number
        label = t("confirmation.page", doc.language, confirmation_number=number, page=self.page_no())
        self.cell(0, 5, label, align="C")


def _owes_french_notice(doc: WrittenDocument) -> bool:
    return doc.language == "fr" if doc.french_law_notice is None else doc.french_law_notice


def _check_figures(doc: ConfirmationDocument) -> None:
    # A written confirmation is what the debtor relies on: never issue one whose figures do not add up.
    owed = doc.principal_minor + doc.fees_minor - doc.fees_waived_minor - doc.discount_minor
    if owed != doc.total_minor:
        raise ValueError(f"breakdown adds up to {owed}, not to the total {doc.total_minor}")
    scheduled = sum(amount for _, amount in doc.instalments)
    if scheduled != doc.total_minor:
        raise ValueError(f"schedule adds up to {scheduled}, not to the total {doc.total_minor}")


def _write_header(pdf: FPDF, doc: WrittenDocument, title: str | None = None) -> None:
    pdf.set_font(_FONT, "B", 16)
    pdf.multi_cell(0, 9, title or t("confirmation.title", doc.language), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    _write_labelled_lines(
        pdf,
        doc.language,
        (
            ("confirmation.confirmation_number", doc.confirmation_number),
            ("confirmation.issued_on", format_date(doc.issued_at.date(), doc.language)),
            ("confirmation.account_reference", doc.account_reference),
        ),
    )


def _write_parties(pdf: FPDF, doc: WrittenDocument) -> None:
    lang = doc.language
    _write_section(pdf, t("confirmation.creditor", lang), f"{doc.creditor_name}\n{doc.creditor_address}")
    activity = t("confirmation.collector_activity", lang, collector=doc.collector_name, creditor=doc.creditor_name)
    collector = f"{doc.collector_name}\n{doc.collector_address}\n{activity}"
    _write_section(pdf, t("confirmation.collector", lang), collector)
    _write_section(pdf, t("confirmation.debtor", lang), doc.debtor_name)


def _amounts(balance_minor: int, interest_minor: int, fees_minor: int) -> list[tuple[str, int]]:
    """What is owed, split as CPCE R124-4 asks: principal, interest, and other charges, each on its own line."""
    return [
        ("confirmation.principal", balance_minor - interest_minor),
        ("confirmation.interest", interest_minor),
        ("confirmation.fees", fees_minor),
    ]


def _write_breakdown(pdf: FPDF, doc: ConfirmationDocument) -> None:
    lang, money = doc.language, lambda minor: format_money(minor, doc.currency, doc.language)
    rows = _amounts(doc.principal_minor, doc.interest_minor, doc.fees_minor)
    # Reductions are shown only when granted, as negative amounts, so the column adds up to the total.
    if doc.fees_waived_minor:
        rows.append(("confirmation.fees_waived", -doc.fees_waived_minor))
    if doc.discount_minor:
        rows.append(("confirmation.discount", -doc.discount_minor))
    _write_heading(pdf, t("confirmation.breakdown", lang))
    pdf.set_font(_FONT, size=10)
    with pdf.table(col_widths=(3, 1), text_align=("LEFT", "RIGHT"), first_row_as_headings=False) as table:
        for key, minor in rows:
            table.row((t(key, lang), money(minor)))
        bold = FontFace(emphasis="BOLD")
        total = table.row()
        total.cell(t("confirmation.total", lang), style=bold)
        total.cell(money(doc.total_minor), style=bold)


def _write_schedule(pdf: FPDF, doc: ConfirmationDocument) -> None:
    lang = doc.language
    _write_heading(pdf, t("confirmation.schedule", lang))
    pdf.set_font(_FONT, size=10)
    with pdf.table(col_widths=(1, 4, 3), text_align=("RIGHT", "LEFT", "RIGHT")) as table:
        headings = ("confirmation.instalment_number", "confirmation.due_date", "confirmation.amount")
        table.row(tuple(t(key, lang) for key in headings))
        for number, (due_date, amount_minor) in enumerate(doc.instalments, start=1):
            table.row((str(number), format_date(due_date, lang), format_money(amount_minor, doc.currency, lang)))


def _write_labelled_lines(pdf: FPDF, language: str, lines: tuple[tuple[str, str], ...]) -> None:
    for key, value in lines:
        label = t("confirmation.field", language, label=t(key, language))  # "Label: " or "Libellé : "
        pdf.set_font(_FONT, "B", 10)
        pdf.cell(pdf.get_string_width(label) + 1, _LINE, label)
        pdf.set_font(_FONT, size=10)
        pdf.multi_cell(0, _LINE, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _write_section(pdf: FPDF, heading: str, body: str) -> None:
    _write_heading(pdf, heading)
    pdf.set_font(_FONT, size=10)
    pdf.multi_cell(0, _LINE, body, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _write_heading(pdf: FPDF, text: str) -> None:
    pdf.ln(4)
    pdf.set_font(_FONT, "B", 12)
    pdf.multi_cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
