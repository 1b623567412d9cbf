from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

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


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=8, max=200, message="Use 8 to 200 characters.")],
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="The two new passwords differ.")],
    )
