-- Runs after --citeproc: the "References" heading becomes a level-2 section heading, as in
-- Quarto's appendix, so it sits with the page's other sections in the table of contents.
function Header(h)
  if h.identifier == "bibliography" and h.level == 1 then
    h.level = 2
    h.identifier = "references"
    return h
  end
end
