-- Worked solutions: a callout with class "solution" is collapsed in the default build,
-- expanded when the document metadata sets `instructor: true` (the instructor profile) and
-- removed, with everything inside it (code, outputs, the answers they declare), when it sets
-- `student: true` (the student profile, which wins if both are set). A profile's
-- _quarto-<name>.yml keys reach every document's metadata, so a filter reads them in Meta.
-- Register it at `at: pre-ast` (see _quarto.yml): Quarto reads `collapse` when it parses a
-- callout into its custom node, before filters at the default stage run. The offline sitebuild
-- runs it at the same point of its own pipeline, and for the notebook download too (as Quarto
-- runs a document's filters for its ipynb format).
local instructor, student = false, false

local function set(value)
  return value == true
    or (type(value) == "table" and pandoc.utils.stringify(value) == "true")
end

function Meta(meta)
  instructor = set(meta.instructor)
  student = set(meta.student)
end

function Div(div)
  if div.classes:includes("solution") then
    if student then
      return {}
    elseif instructor then
      div.attributes["collapse"] = "false"
    elseif div.attributes["collapse"] == nil then
      div.attributes["collapse"] = "true"
    end
    return div
  end
end

return {{Meta = Meta}, {Div = Div}}
