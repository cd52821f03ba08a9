"""Views: what a command's domain result says, as a :class:`~cnnscope.render.document.Document`
any format can write. One module per kind of result; the words and the units are written
here, never in the domain modules."""
