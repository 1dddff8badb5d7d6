"""A refusal in the page's language. The API's messages are English and say exactly what was
wrong; an English page shows them as they are. A Chinese page shows the catalog's sentence for
the refusal's reason code (a general one for a code this table does not know), and under it, as
a second line, the API's own text: the detail (which value, which limit) that a sentence per
code cannot hold. A problem at a field of a document shows its validation rule's sentence (or,
for a refusal at one field, the reason code's with the detail). The code itself is always
shown after the sentence, so a user can quote it to the help desk in either language.

Codes are the API's stable ones (docs/PROTOCOL.md §6, core/validation.py and core/logistics.py
RULES); tests/web/test_refusals.py checks that each is real and translated."""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup

from core.errors import SwnodeError
from node.web.i18n import catalog

__all__ = ["REASONS", "RULES", "UNKNOWN_REASON", "explain", "refusal", "rule_message"]


def N_(message: str) -> str:
    """Marks a message for the catalogs; translated when shown."""
    return message


# Reason codes a portal page can show (a form, the login, a page refused).
REASONS: Mapping[str, str] = {
    # Signing in and registering.
    "login.incomplete": N_("Give the USCC or party id, the user name and the password."),
    "login.failed": N_("The party, user name or password is wrong."),
    "login.locked": N_("Too many failed logins: this login is locked for a while."),
    "login.disabled": N_("This user is disabled."),
    "login.home_unreachable": N_("The enterprise's home window does not answer; try again later."),
    "party.not_active": N_("The party is not active (pending, rejected or suspended)."),
    "party.bad_uscc": N_("Not a Unified Social Credit Code, or a wrong check character."),
    "party.bad_name": N_("The name is empty or longer than 200 characters."),
    "party.no_roles": N_("Choose at least one role."),
    "party.bad_role": N_("A role that is not an enterprise's role."),
    "party.exists": N_("This enterprise is already registered at this window."),
    "party.registered_elsewhere": N_("This USCC is registered at another window: log in there."),
    "party.unknown": N_("There is no such party at this window."),
    "registration.rate_limited": N_("Too many registrations from this address; try again later."),
    "registry.unreachable": N_("The national registry does not answer; try again later."),
    "registry.unknown": N_("This USCC is not in the national registry."),
    "user.bad_name": N_("A user name is 1 to 64 lowercase letters, digits, dots, _ or -."),
    "user.bad_role": N_("A user's role is admin or a role of the enterprise."),
    "user.weak_password": N_("The password is shorter than 10 characters or too repetitive."),
    "user.exists": N_("This user name is taken."),
    "user.unknown": N_("There is no such user."),
    "user.last_admin": N_("The enterprise would be left without an enabled administrator."),
    "users.not_home": N_("Users are managed at the enterprise's home window only."),
    "party.bad_id": N_("A party id is 2 to 32 lowercase letters, digits, - or _."),
    "party.bad_kind": N_("Choose the kind of party."),
    "operator.same_password": N_("The new password must differ from the one-time password."),
    # The visitor's rights.
    "auth.missing": N_("You are not logged in."),
    "auth.missing_role": N_("Your account does not have the role this needs."),
    "token.expired": N_("Your login has expired: log in again."),
    "token.revoked": N_("Your login was ended: log in again."),
    "token.not_home": N_("Log in at the enterprise's home window or through it."),
    "token.not_local": N_("An agency's or operator's login is valid at its own window only."),
    # Documents and declarations.
    "document.invalid": N_("The document breaks the rules shown at its fields."),
    "document.unknown_type": N_("There is no such document type."),
    "document.no_policy": N_("This window cannot accept this document type."),
    "document.empty": N_("The document is empty."),
    "assessment.invalid_declaration": N_("The duty of this declaration cannot be computed."),
    "declaration.not_enterprise": N_("Only an enterprise submits documents."),
    "declaration.not_your_party": N_("The declaring party must be your own enterprise."),
    "declaration.unknown": N_("There is no such declaration."),
    "declaration.bad_transition": N_("This step is not allowed in the declaration's status."),
    "amend.other_type": N_("An amendment is a document of the declaration's own type."),
    "list.bad_date": N_("A date is written YYYY-MM-DD and is in the calendar."),
    "list.page_size": N_("The page size is out of range."),
    "list.page_token": N_("This page of the list cannot be found; start again."),
    "routing.none": N_("No agency at this window handles this document type."),
    "routing.agency_missing": N_("The agency this document goes to is not at this window."),
    # An agency's work.
    "work.not_agency": N_("Only this window's agencies do this work."),
    "work.unknown": N_("There is no such work item."),
    "work.claimed": N_("This work item is not open: someone has claimed it."),
    "work.bad_decision": N_("Choose a decision."),
    "work.reason_required": N_("Give a reason."),
    "work.already_decided": N_("This work item is already decided."),
    "work.already_inspecting": N_("An inspection is already required."),
    "work.release_without_inspection": N_("Goods not held for inspection cannot be released."),
    # Certificates.
    "certificate.unknown": N_("There is no such certificate."),
    "certificate.not_agency": N_("Only the window's agencies decide on certificates."),
    "certificate.reason_required": N_("Give a reason."),
    "certificate.bad_decision": N_("Choose a decision."),
    "certificate.declaration_required": N_("Give the import declaration it is used against."),
    "certificate.bad_transition": N_("This is not allowed in the certificate's status."),
    "certificate.not_usable": N_("The certificate was replaced or cancelled."),
    "certificate.content": N_("Give the corrected application of the certificate's kind."),
    "certificate.other_parties": N_("A replacement keeps the exporter and importing country."),
    # Logistics and data sharing.
    "event.invalid": N_("The events break the rules shown."),
    "event.too_many": N_("At most 1000 events at a time."),
    "event.conflict": N_("An event with this id was reported before, with other content."),
    "logistics.not_operator": N_("Only logistics operators report events."),
    "timeline.bad_key": N_("Give a container number, a bill of lading or a declaration id."),
    "sharing.no_grant": N_("You hold no grant to see this."),
    "sharing.grant_expired": N_("Your grant has expired."),
    "sharing.grant_revoked": N_("Your grant was revoked."),
    "sharing.not_home": N_("This is done at the party's home window."),
    "dataset.invalid": N_("The dataset breaks the rule shown at its field."),
    "dataset.unknown": N_("There is no such dataset."),
    "sharing.unknown_request": N_("There is no such request for your datasets."),
    "sharing.bad_state": N_("This is not allowed in the request's status."),
    "sharing.bad_request": N_("Give a purpose and a period of at most 366 days, not yet ended."),
}

# Validation rules a form field can show (core/validation.py and core/logistics.py RULES).
RULES: Mapping[str, str] = {
    "required": N_("This is required."),
    "max_length": N_("This is too long."),
    "code_unknown": N_("Choose one of the listed values."),
    "text_characters": N_("Control characters are not allowed."),
    "identifier_format": N_("Use letters, digits and - / . _ only."),
    "uscc_format": N_("A USCC is 18 characters, upper case, without separators."),
    "uscc_check_character": N_("The USCC's check character is wrong."),
    "hs_code_format": N_("An HS code is 6 digits, or 8 to 13 digits."),
    "iso6346_format": N_("A container number is 4 letters (ending U, J, Z or R) and 7 digits."),
    "iso6346_check_digit": N_("The container number's check digit is wrong."),
    "unlocode_format": N_("A UN/LOCODE is 5 characters: the country, then 3 of A-Z or 2-9."),
    "unlocode_country": N_("The UN/LOCODE's country is unknown."),
    "iso3166_country": N_("A country is an ISO 3166-1 two-letter code."),
    "iso4217_currency": N_("A currency is an ISO 4217 code, such as CNY."),
    "decimal_format": N_("Write a number with digits and at most one dot."),
    "decimal_positive": N_("The number must be greater than zero."),
    "decimal_places": N_("At most 4 decimal places."),
    "iso_date": N_("A date is written YYYY-MM-DD."),
    "email_format": N_("An e-mail address is local-part@domain."),
    "imo_format": N_("An IMO number is 7 digits, optionally after IMO."),
    "imo_check_digit": N_("The IMO number's check digit is wrong."),
    "uscc_required_in_china": N_("A party in China gives its USCC."),
    "export_from_chinese_port": N_("An export loads at a port in China."),
    "import_to_chinese_port": N_("An import is discharged at a port in China."),
    "domestic_party_in_china": N_("The party on China's side is in China."),
    "ports_differ": N_("The two ports are different places."),
    "item_currency_is_invoice_currency": N_("Value every item in the invoice currency."),
    "movement_not_before_declaration": N_("The movement date is not before the declaration date."),
    "duplicate_container": N_("This container number is given twice."),
    "port_of_call_in_china": N_("The port of call is in China."),
    "vessel_imo_number": N_("A vessel is identified by its IMO number."),
    "whole_number": N_("This is a whole number."),
    "duplicate_bill_of_lading": N_("This bill of lading number is given twice."),
    "valid_from_not_after_valid_to": N_("The period does not end before it starts."),
    "trading_country_not_china": N_("The trading country is a country other than China."),
    "exporter_in_china": N_("The exporter is in China."),
    "importer_in_importing_country": N_("The importer is in the importing country."),
    "importing_country_not_china": N_("The importing country is not China."),
    "agreement_party_country": N_("The importing country is not a party to the agreement."),
    "invoice_not_after_departure": N_("The invoice date is not after the departure date."),
    "rebate_in_cny": N_("A rebate is claimed in renminbi (CNY)."),
    "tax_period_format": N_("A tax period is a month written YYYY-MM."),
    "duplicate_declaration_id": N_("This declaration is claimed twice."),
    "tariff_line_missing": N_("This HS code has no line in the tariff."),
    "container_or_bill": N_("Give a container, a bill of lading, or both."),
    "occurred_in_future": N_("An event cannot have happened later than now."),
    "duplicate_event_id": N_("This event id is given twice."),
}


# The sentence for a reason code that REASONS does not hold (its detail follows it).
UNKNOWN_REASON = N_("The request was refused.")


def _translated(table: Mapping[str, str], code: str, message: str, locale: str) -> str:
    if locale == "en" or code not in table:
        return message
    return catalog(locale).gettext(table[code])


def explain(code: str, message: str, locale: str) -> str:
    """A refusal's message in `locale`, by its reason code (the API's own for a code that
    REASONS does not hold)."""
    return _translated(REASONS, code, message, locale)


# The API's own message under a sentence, on a page not in English (portal.css sets it apart).
_DETAIL = Markup('<span class="refusal__detail" lang="en">{}</span>')


def _sentence(code: str, locale: str) -> str:
    return catalog(locale).gettext(REASONS.get(code, UNKNOWN_REASON))


def rule_message(rule: str, message: str, locale: str) -> str:
    """A problem at a field in `locale`, by its validation rule; for the reason code a refusal
    at one field gives, on a page not in English, the code's sentence with the API's message
    under it, as `refusal` shows it."""
    if rule in RULES or locale == "en":
        return _translated(RULES, rule, message, locale)
    return Markup("{} ").format(_sentence(rule, locale)) + _DETAIL.format(message)


def refusal(exc: SwnodeError, locale: str) -> str:
    """What a page shows of a refusal: its message in `locale`, then its reason code; on a
    page not in English, the API's message under them as the detail (Markup, escaped here,
    for the second line; the page's `lang` does not apply to it)."""
    if locale == "en":
        return f"{exc.message} ({exc.reason})"
    sentence = Markup("{} ({}) ").format(_sentence(exc.reason, locale), exc.reason)
    return sentence + _DETAIL.format(exc.message)
