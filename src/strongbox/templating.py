"""The Jinja2 environment every page renders with."""

import functools

from django.conf import settings
from django.contrib.messages import get_messages
from django.forms import renderers
from django.template import TemplateDoesNotExist
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeData
from django.utils.timezone import get_default_timezone
from jinja2 import Environment, StrictUndefined, select_autoescape
from markupsafe import Markup, escape


def url(name: str, *args, **kwargs) -> str:
    """Reverse a URL name, like Django's {% url %}; each URL once per process (a page's header alone names nine)."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF  # by name: tests may swap the setting
    return _reversed(get_script_prefix(), urlconf, name, args, tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=4096)
def _reversed(prefix: str, urlconf: str, name: str, args: tuple, kwargs: tuple) -> str:
    # The prefix and URLconf in the key: reverse() reads them from the request being answered.
    return reverse(name, urlconf=urlconf, args=args or None, kwargs=dict(kwargs) or None)


def filesize(size: int | None) -> str:
    """Return a byte count as a short human size: 512 B, 3.4 KB, 12.0 MB."""
    size = size or 0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def datetime_short(value) -> str:
    """Return a date and time in the server's time zone (settings.TIME_ZONE) as 2026-11-21 09:30.

    The server's zone, not Django's "current" one: nothing activates another, and looking the current one up
    (a context-local) cost more than the conversion, 50 times on every list page."""
    return value.astimezone(get_default_timezone()).strftime("%Y-%m-%d %H:%M") if value else ""


def help_html(value) -> Markup:
    """Return a form field's help text as HTML: what Django marked safe (the password validators' <ul> of rules,
    built with format_html from escaped parts) as markup, anything else escaped. Django hands the password help
    over as a lazy string, which Jinja2 would escape as text."""
    text = str(value)  # evaluates a lazy string into what it stands for (a SafeString for the password rules)
    return Markup(text) if isinstance(text, SafeData) else escape(text)  # noqa: S704  # nosec B704 - marked safe by Django


def environment(**options) -> Environment:
    # StrictUndefined turns a misspelt variable into an error in tests instead of a silently empty page.
    # Pages are escaped; plain-text mails (.txt) are not, or a quote in a username would arrive as &#34;.
    options.pop("autoescape", None)
    options.pop("undefined", None)
    env = Environment(
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        **options,
    )
    env.globals.update(url=url, static=static, get_messages=get_messages, settings=settings)
    env.filters.update(filesize=filesize, datetime_short=datetime_short, help_html=help_html)
    return env


class FormRenderer(renderers.Jinja2):
    """Draw form widgets with Django's own Jinja2 widget templates: the pages are Jinja2 already, and a widget
    costs a third of what it does through the Django template language (the list page's filter form: 1.3 ms). The
    admin's widgets exist only as Django templates, and come from there."""

    fallback = renderers.DjangoTemplates()

    def get_template(self, template_name):
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self.fallback.get_template(template_name)
