from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The dispatcher's desk in the admin: orders, customers, technicians, appointments."""

    name = "console"
