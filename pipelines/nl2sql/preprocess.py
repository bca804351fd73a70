"""Stage 1: validate the questions and tables, tokenise them and build the head labels."""
from kexue.core.source import preprocess_main
from kexue.nl2sql import prepare
from kexue.nl2sql.data import NL2SQLDataError

preprocess_main(__doc__, "nl2sql", prepare, NL2SQLDataError)
