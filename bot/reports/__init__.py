"""Channel mood reports: the maths (:mod:`.model`, pure), Block Kit (:mod:`.views`), the chart
image (:mod:`.chart`), posting (:mod:`.publish`), the use cases behind the subcommands, the
share button and the App Home (:mod:`.usecases`), the weekly digest (:mod:`.digest`) and the
``python -m bot report`` export (:mod:`.export`)."""
