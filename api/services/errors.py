"""The domain's exception hierarchy: raised by services, mapped once to HTTP problems and once to bot messages."""


class DomainError(Exception):
    """Base of every error a domain rule raises; `code` is the stable machine name used by both mappings."""

    code = "domain_error"

    def problem_extra(self) -> dict:
        """Fields added to the HTTP problem body (e.g. the counter-offer of a refused arrangement)."""
        return {}


class InvalidLink(DomainError):
    """A signed link was altered, forged, or made for another purpose: the holder should ask for a new one."""

    code = "invalid_link"


class ExpiredLink(DomainError):
    """A signed link was genuine but is too old: the holder should ask for a new one."""

    code = "expired_link"


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with what is already recorded (a duplicate reference, an offer already used)."""

    code = "conflict"


class NotVerified(DomainError):
    """Nothing about a debt is disclosed or changed before the debtor's identity is verified."""

    code = "not_verified"


class VerificationLocked(DomainError):
    """Too many failed verification attempts in this conversation: only a human can help now."""

    code = "verification_locked"


class AgreementRequired(DomainError):
    """A commitment needs the debtor's explicit agreement to a summary that was shown first."""

    code = "agreement_required"


class CollectionPaused(DomainError):
    """Collection is paused on this account (open dispute): no payment may be asked for or arranged."""

    code = "collection_paused"


class InvalidDate(DomainError):
    """The date cannot be right (for example a payment said to be made in the future)."""

    code = "invalid_date"


class UnderCare(DomainError):
    """The debtor expressed distress: collection waits until a person has reviewed the account."""

    code = "under_care"
