# main.py: starts the application. Stays outside the app slots.
from firmware import app

app.main()
