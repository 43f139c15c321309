from allauth.account.adapter import DefaultAccountAdapter

from . import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Every new account gets its Person, the data subject that consents and participates."""
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            data = form.cleaned_data
            services.register_person(
                user, full_name=data.get("full_name", ""), birth_date=data.get("birth_date")
            )
        return user
