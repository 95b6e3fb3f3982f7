"""Django REST framework validation messages that its Japanese catalogue leaves untranslated.

DRF 3.18.3 ships no Japanese for these messages, so an API client that asks for
Japanese got them in English (for example "Must be a valid boolean." for
``?mri_recommended=maybe``). Listing them here makes ``makemessages`` keep them
in locale/ja, whose translations take precedence over DRF's catalogue because
LOCALE_PATHS comes first. Nothing imports this module.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

DRF_MESSAGES = (
    gettext_noop("Must be a valid boolean."),
    gettext_noop("Invalid input."),
    gettext_noop("Not a valid string."),
    gettext_noop("Must be a valid UUID."),
    gettext_noop("Datetime value out of range."),
    gettext_noop('Invalid datetime for the timezone "{timezone}".'),
    gettext_noop("Surrogate characters are not allowed: U+{code_point:X}."),
    gettext_noop("This dictionary may not be empty."),
    gettext_noop("Ensure this field has at least {min_length} elements."),
    gettext_noop("Ensure this field has no more than {max_length} elements."),
)
