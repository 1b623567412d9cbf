from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.domain import accounts


def valid_email(_form, field) -> None:
    """Check the address as every other door does (``accounts.validate_email``)."""
    try:
        accounts.validate_email(field.data or "")
    except accounts.AccountError as exc:
        raise ValidationError(str(exc)) from None


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), valid_email])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in")
