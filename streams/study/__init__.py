"""`hotline study`: the study's figures as one self-contained HTML page (charts as inline SVG).

figures.py computes (pure, from the same Processor and summarize() as `hotline report`), svg.py draws,
page.py lays out the page, pdf.py prints it with headless Chromium, cli.py wires the command.
"""
