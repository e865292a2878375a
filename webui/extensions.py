"""Extension objects, created unbound and attached in ``create_app``."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
