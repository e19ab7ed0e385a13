"""A Jinja2 backend that reports each render to Django's test client, so tests can read `response.context`
(Django only instruments its own template language)."""

from django.template.backends.jinja2 import Jinja2, Template
from django.test.signals import template_rendered


class InstrumentedTemplate(Template):
    def render(self, context=None, request=None):
        template_rendered.send(sender=self, template=self, context=dict(context or {}))
        return super().render(context, request)


class InstrumentedJinja2(Jinja2):
    def from_string(self, template_code):
        return InstrumentedTemplate(self.env.from_string(template_code), self)

    def get_template(self, template_name):
        template = super().get_template(template_name)
        return InstrumentedTemplate(template.template, self)
