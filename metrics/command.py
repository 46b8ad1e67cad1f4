def add_parser(commands):
    commands.add_parser("metrics")


def run(args):
    raise ValueError("not implemented yet")
