-- Worked solutions: a callout with class "solution" is collapsed for students and expanded
-- when the document metadata sets `instructor: true` (the instructor profile).
-- Register it at `at: pre-ast` (see _quarto.yml): Quarto reads `collapse` when it parses a
-- callout into its custom node, before filters at the default stage run. The offline sitebuild
-- runs it at the same point of its own pipeline.
local instructor = false

function Meta(meta)
  instructor = meta.instructor == true
    or (type(meta.instructor) == "table" and pandoc.utils.stringify(meta.instructor) == "true")
end

function Div(div)
  if div.classes:includes("solution") then
    if instructor then
      div.attributes["collapse"] = "false"
    elseif div.attributes["collapse"] == nil then
      div.attributes["collapse"] = "true"
    end
    return div
  end
end

return {{Meta = Meta}, {Div = Div}}
