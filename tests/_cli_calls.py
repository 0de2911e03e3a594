"""The command line called in process, shared by the CLI tests."""


def call(argv, capsys):
    """Run ``learnwin ARGV`` in process: ``(exit code, stdout, stderr)``, never a traceback."""
    from verify.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err
