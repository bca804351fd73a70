"""Stage 1: validate the questions and tables, tokenise them and build the head labels."""
from kexue.core.source import preprocess_main
from kexue.nl2sql import stages
from kexue.nl2sql.data import NL2SQLDataError

preprocess_main(__doc__, "nl2sql", stages, NL2SQLDataError)
